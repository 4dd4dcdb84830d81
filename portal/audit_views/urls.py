from django.urls import path

from portal.audit_views import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("export.<str:fmt>", views.audit_export, name="export"),
]

from django.urls import path

from portal.docs import views

app_name = "docs"
urlpatterns = [
    path("", views.doc_page, {"slug": "index"}, name="index"),
    path("<slug:slug>/", views.doc_page, name="page"),
]

from django.urls import path

from catalog import views, webhooks

app_name = "catalog"
urlpatterns = [
    path("", views.entity_list, name="entity-list"),
    path("register/", views.register, name="register"),
    path("by-ref/", views.entity_by_ref, name="entity-by-ref"),
    path("webhooks/push", webhooks.push, name="webhook-push"),
    path("<str:namespace>/<str:kind>/<str:name>/", views.entity_detail, name="entity-detail"),
]

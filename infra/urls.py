from django.urls import path

from infra import views

app_name = "infra"
urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("new/", views.request_create, name="request-create"),
    path("new/preview", views.request_preview, name="request-preview"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("requests/<int:pk>/resize", views.request_resize, name="request-resize"),
    path("requests/<int:pk>/tier", views.request_change_tier, name="request-change-tier"),
    path("requests/<int:pk>/protection", views.request_protection, name="request-protection"),
    path("requests/<int:pk>/delete", views.request_delete, name="request-delete"),
    path("requests/<int:pk>/cancel", views.request_cancel, name="request-cancel"),
    path("approvals/", views.approval_list, name="approval-list"),
    path("approvals/<int:pk>/decide", views.approval_decide, name="approval-decide"),
    path("costs/", views.cost_list, name="cost-list"),
]

from django.urls import path

from runs import views

app_name = "runs"
urlpatterns = [
    path("runs/", views.run_list, name="run-list"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/log", views.run_log, name="run-log"),
    path("runs/<int:run_id>/cancel", views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/retry", views.run_retry, name="run-retry"),
    path("runs/<int:run_id>/undo", views.run_undo, name="run-undo"),
]

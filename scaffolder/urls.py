from django.urls import path

from scaffolder import views, wizard_views
from scaffolder.upgrades import views as upgrade_views

app_name = "scaffolder"
urlpatterns = [
    path("runs/", views.run_list, name="run-list"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/log", views.run_log, name="run-log"),
    path("runs/<int:run_id>/cancel", views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/retry", views.run_retry, name="run-retry"),
    path("runs/<int:run_id>/undo", views.run_undo, name="run-undo"),
    path("upgrades/adopt/", upgrade_views.adopt, name="upgrade-adopt"),
    path("upgrades/<int:pk>/", upgrade_views.upgrade_preview, name="upgrade-preview"),
    path("upgrades/<int:pk>/start", upgrade_views.upgrade_start, name="upgrade-start"),
    path(
        "upgrades/rollout/<int:version_id>",
        upgrade_views.upgrade_rollout,
        name="upgrade-rollout",
    ),
    path("create/", wizard_views.template_list, name="template-list"),
    path("create/editor/", wizard_views.template_editor, name="template-editor"),
    path("create/entities", wizard_views.entity_search, name="entity-search"),
    path(
        "create/<str:namespace>/<str:name>/", wizard_views.template_wizard, name="template-wizard"
    ),
    path(
        "create/<str:namespace>/<str:name>/validate",
        wizard_views.template_field_validate,
        name="template-field-validate",
    ),
]

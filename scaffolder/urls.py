from django.urls import path

from scaffolder import day2_views, wizard_views
from scaffolder.upgrades import views as upgrade_views

app_name = "scaffolder"
urlpatterns = [
    path(
        "components/add-environment",
        day2_views.component_add_environment,
        name="component-add-environment",
    ),
    path(
        "components/decommission",
        day2_views.component_decommission,
        name="component-decommission",
    ),
    path("upgrades/adopt/", upgrade_views.adopt, name="upgrade-adopt"),
    path("upgrades/<int:pk>/", upgrade_views.upgrade_preview, name="upgrade-preview"),
    path("upgrades/<int:pk>/start", upgrade_views.upgrade_start, name="upgrade-start"),
    path(
        "upgrades/rollout/<int:version_id>", upgrade_views.upgrade_rollout, name="upgrade-rollout"
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

from django.urls import path

from scaffolder import day2_views, wizard_views

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

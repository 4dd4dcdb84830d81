from django.urls import path

from scaffolder import wizard_views

app_name = "scaffolder"
urlpatterns = [
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

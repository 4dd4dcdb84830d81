from django.urls import path

from catalog import api

app_name = "catalog-api"
urlpatterns = [
    path("entities", api.entities, name="entities"),
    path(
        "entities/by-name/<str:kind>/<str:namespace>/<str:name>", api.entity_by_name, name="by-name"
    ),
    path("entities/by-uid/<str:uid>", api.entity_by_uid, name="by-uid"),
    path("entity-facets", api.entity_facets, name="facets"),
    path("locations", api.locations, name="locations"),
]

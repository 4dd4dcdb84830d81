from django.urls import path

from catalog import api

app_name = "catalog-api"
urlpatterns = [
    path("entities", api.entities, name="entities"),
    path("entities/by-query", api.entities_by_query, name="by-query"),
    path("entities/by-refs", api.entities_by_refs, name="by-refs"),
    path(
        "entities/by-name/<str:kind>/<str:namespace>/<str:name>", api.entity_by_name, name="by-name"
    ),
    path(
        "entities/by-name/<str:kind>/<str:namespace>/<str:name>/ancestry",
        api.entity_ancestry,
        name="ancestry",
    ),
    path("entities/by-uid/<str:uid>", api.entity_by_uid, name="by-uid"),
    path("entity-facets", api.entity_facets, name="facets"),
    path("validate-entity", api.validate_entity_view, name="validate-entity"),
    path("locations", api.locations_collection, name="locations"),
    path("locations/<str:location_id>", api.location, name="location"),
    path(
        "locations/by-entity/<str:kind>/<str:namespace>/<str:name>",
        api.location_by_entity,
        name="location-by-entity",
    ),
    path("analyze-location", api.analyze_location, name="analyze-location"),
    path("refresh", api.refresh, name="refresh"),
]

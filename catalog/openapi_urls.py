from django.urls import path

from catalog import api

# Mounted at /api/openapi.json; the document covers every /api/ endpoint (catalog and metrics).
app_name = "openapi"
urlpatterns = [path("", api.openapi, name="document")]

from django.urls import path

from metrics import webhooks

app_name = "metrics-api"
urlpatterns = [path("events", webhooks.events_api, name="events")]

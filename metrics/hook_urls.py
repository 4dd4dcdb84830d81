from django.urls import path

from metrics import webhooks

app_name = "metrics-hooks"
urlpatterns = [
    path("github", webhooks.github, name="github"),
    path("argocd", webhooks.argocd, name="argocd"),
    path("pagerduty", webhooks.pagerduty, name="pagerduty"),
    path("opsgenie", webhooks.opsgenie, name="opsgenie"),
]

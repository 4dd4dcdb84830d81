from django.urls import path

from metrics import views
from metrics.scorecards import views as scorecard_views

app_name = "metrics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("teams/<str:team>/", views.team, name="team"),
    path("components/<str:name>/", views.component, name="component"),
    path("components/<str:name>/tab", views.component_tab, name="component-tab"),
    path("unlinked/", views.unlinked, name="unlinked"),
    path("survey/", views.survey_page, name="survey"),
    path("survey/dismiss", views.survey_dismiss, name="survey-dismiss"),
    path("survey/results/", views.survey_results_page, name="survey-results"),
    path("reports/", views.report_list, name="report-list"),
    path("reports/<str:week>/", views.report_detail, name="report-detail"),
    path("roi/", views.roi, name="roi"),
    path("scorecards/", scorecard_views.scorecards, name="scorecards"),
]

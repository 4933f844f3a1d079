from django.urls import path

from perflink.metrics import views

app_name = "metrics"

urlpatterns = [
    # Definitions: the metric library, seasons and the working-day calendar, templates, targets.
    path("", views.library, name="library"),
    path("new/", views.metric_new, name="metric_new"),
    path("check/", views.metric_check, name="metric_check"),
    path("<int:metric_id>/", views.metric_detail, name="metric_detail"),
    path("<int:metric_id>/preview/", views.metric_preview, name="metric_preview"),
    path("seasons/", views.seasons, name="seasons"),
    path("calendar/", views.calendar, name="calendar"),
    path("templates/", views.templates, name="templates"),
    path("templates/<int:template_id>/", views.template_detail, name="template_detail"),
    path("targets/", views.targets, name="targets"),
    path("targets/import/", views.targets_import, name="targets_import"),
    # Results: runs, scorecards and the explanation of every number.
    path("runs/", views.runs, name="runs"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/publish/", views.run_publish, name="run_publish"),
    path("runs/<int:run_id>/scores/", views.scorecards, name="scorecards"),
    path("runs/<int:run_id>/units/<int:unit_id>/", views.unit_scorecard, name="unit_scorecard"),
    path(
        "runs/<int:run_id>/employees/<int:employee_id>/", views.employee_scorecard, name="employee_scorecard"
    ),
    path("runs/<int:run_id>/units/<int:unit_id>/trend/", views.unit_trend, name="unit_trend"),
    path("runs/<int:run_id>/employees/<int:employee_id>/trend/", views.employee_trend, name="employee_trend"),
    path("runs/<int:run_id>/explain/", views.explain_line, name="explain"),
    path("me/", views.my_scorecard, name="my_scorecard"),
]

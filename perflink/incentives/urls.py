from django.urls import path

from perflink.incentives import views

app_name = "incentives"

urlpatterns = [
    path("", views.links, name="links"),
    path("new/", views.link_new, name="link_new"),
    path("<int:link_id>/", views.link_detail, name="link_detail"),
    path("<int:link_id>/decide/", views.link_decide, name="link_decide"),
    path("<int:link_id>/withdraw/", views.link_withdraw, name="link_withdraw"),
    path("bonus/", views.bonus_runs, name="bonus_runs"),
    path("bonus/<int:bonus_run_id>/", views.bonus_run, name="bonus_run"),
    path("bonus/<int:bonus_run_id>/people/<int:employee_id>/", views.bonus_statement, name="bonus_statement"),
    path(
        "bonus/<int:bonus_run_id>/people/<int:employee_id>/pdf/",
        views.bonus_statement_pdf,
        name="bonus_statement_pdf",
    ),
    # Plans sit under bonus/ so that the navigation's 激励 entry stays the active one.
    path("bonus/plans/", views.plans, name="plans"),
    path("bonus/plans/new/", views.plan_new, name="plan_new"),
    path("bonus/plans/check/", views.plan_check, name="plan_check"),
    path("bonus/plans/<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("bonus/plans/<int:plan_id>/edit/", views.plan_edit, name="plan_edit"),
    path("bonus/plans/<int:plan_id>/what-if/", views.plan_what_if, name="plan_what_if"),
    path("bonus/plans/<int:plan_id>/bases/", views.plan_bases, name="plan_bases"),
]

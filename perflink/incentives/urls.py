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
]

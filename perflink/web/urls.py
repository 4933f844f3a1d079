from django.urls import path
from django.views.i18n import set_language

from perflink.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("i18n/setlang/", views.public(set_language), name="set_language"),
    path("healthz", views.healthz, name="healthz"),
    path("modules/<slug:key>/", views.module, name="module"),
    path("org/", views.org_tree, name="org_tree"),
    path("org/units/<int:unit_id>/", views.unit_detail, name="unit_detail"),
    path("employees/", views.employee_list, name="employee_list"),
    path("employees/<int:employee_id>/", views.employee_detail, name="employee_detail"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/tokens/", views.token_list, name="token_list"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]

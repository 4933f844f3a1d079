from django.urls import path

from perflink.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("impact/", views.impact, name="impact"),
    path("links/<int:link_id>/", views.link, name="link"),
    path("claims/", views.claims, name="claims"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("before-after/", views.before_after, name="before_after"),
    path("suggestions/", views.suggestions, name="suggestions"),
]

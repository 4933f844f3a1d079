from django.urls import include, path

from perflink.collab.views import demands, surveys, weekly

app_name = "collab"

urlpatterns = [
    *demands.urlpatterns,
    path("surveys/", include(surveys.urlpatterns)),
    path("weekly/", include(weekly.urlpatterns)),
]

from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("data/", include("perflink.ingest.urls")),
    path("metrics/", include("perflink.metrics.urls")),
    path("links/", include("perflink.incentives.urls")),
    path("collab/", include("perflink.collab.urls")),
    path("analytics/", include("perflink.analytics.urls")),
    path("inbox/", include("perflink.notify.urls")),
    path("", include("perflink.web.urls")),
]

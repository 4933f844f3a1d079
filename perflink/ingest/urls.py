from django.urls import path

from perflink.ingest import views

app_name = "ingest"

urlpatterns = [
    path("", views.sources, name="sources"),
    path("import/", views.import_file, name="import"),
    path("batches/", views.history, name="history"),
    path("rules/", views.plausibility_rules, name="rules"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:batch_id>/rollback/", views.batch_rollback, name="batch_rollback"),
    path("batches/<int:batch_id>/rejected.csv", views.batch_rejected, name="batch_rejected"),
]

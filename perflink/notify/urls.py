from django.urls import path

from perflink.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
]

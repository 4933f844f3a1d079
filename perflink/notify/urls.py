from django.urls import path

from perflink.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("channels/", views.channels, name="channels"),
    path("deliveries/", views.deliveries, name="deliveries"),
]

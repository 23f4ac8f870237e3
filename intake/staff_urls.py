from django.urls import path

from intake import bot_views

app_name = "bots"

urlpatterns = [
    path("bots/", bot_views.bots, name="list"),
    path("bots/<int:pk>/revoke/", bot_views.revoke, name="revoke"),
]

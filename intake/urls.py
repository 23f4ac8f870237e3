"""Public pages: the request form and follow-up by receipt code."""

from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("", views.request_form, name="form"),
    path("receipt/language/", views.receipt_language, name="receipt_language"),
    path("status/", views.status, name="status"),
    path("status/message/", views.status_message, name="status_message"),
    path("robots.txt", views.robots, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
]

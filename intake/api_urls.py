from django.urls import path

from intake import api, openapi

app_name = "api"

urlpatterns = [
    path("requests", api.create_request, name="requests"),
    path("openapi.json", openapi.openapi_json, name="openapi"),
]

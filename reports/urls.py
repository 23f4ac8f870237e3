from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("exports/", views.export_stats, name="export"),
    path(
        "dashboard/charts/<slug:name>.<slug:file_format>",
        views.chart_download,
        name="chart",
    ),
    path("reports/definitions/", views.definitions, name="definitions"),
    path("reports/regenerate/", views.regenerate_all, name="regenerate_all"),
    path("reports/<str:month>/", views.month_report, name="month"),
    path("reports/<str:month>/regenerate/", views.regenerate, name="regenerate"),
]

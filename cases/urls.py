"""The caseworkers' pages, under /staff/."""

from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("cases/<str:reference>/", views.case_detail, name="detail"),
    path("cases/<str:reference>/move/", views.case_move, name="move"),
    path("cases/<str:reference>/assign/", views.case_assign, name="assign"),
    path("cases/<str:reference>/notes/", views.case_note, name="note"),
    path("cases/<str:reference>/reply/", views.case_reply, name="reply"),
]

"""The caseworkers' pages, under /staff/."""

from django.urls import path, register_converter

from cases import (
    attachment_views,
    bulk_views,
    due_views,
    held_views,
    saved_view_views,
    search_views,
    template_views,
    views,
)
from intake.references import ReferenceConverter

register_converter(ReferenceConverter, "reference")


class Hex32Converter:
    regex = "[0-9a-f]{32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(Hex32Converter, "hex32")

app_name = "cases"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.new_cases, name="new"),
    path("search/", search_views.search, name="search"),
    path("bulk/", bulk_views.bulk, name="bulk"),
    path("views/", saved_view_views.view_save, name="view_save"),
    path("views/<int:pk>/rename/", saved_view_views.view_rename, name="view_rename"),
    path("views/<int:pk>/delete/", saved_view_views.view_delete, name="view_delete"),
    path("held/", held_views.held_list, name="held"),
    path("held/release/", held_views.held_release, name="held_release"),
    path("held/reject/", held_views.held_reject, name="held_reject"),
    path("held/reject-window/", held_views.held_reject_window, name="held_reject_window"),
    path("cases/<reference:reference>/", views.case_detail, name="detail"),
    path("cases/<reference:reference>/move/", views.case_move, name="move"),
    path("cases/<reference:reference>/assign/", views.case_assign, name="assign"),
    path("cases/<reference:reference>/notes/", views.case_note, name="note"),
    path("cases/<reference:reference>/reply/", views.case_reply, name="reply"),
    path("cases/<reference:reference>/contact/", views.case_contact, name="contact"),
    path(
        "cases/<reference:reference>/reply-notice/",
        views.case_reply_notice,
        name="reply_notice",
    ),
    path("cases/<reference:reference>/reopen/", views.case_reopen, name="reopen"),
    path("cases/<reference:reference>/relate/", views.case_relate, name="relate"),
    # Attachments: 32 hex digits name one (intake.models.Attachment.uid).
    path(
        "cases/<reference:reference>/attachments/<hex32:uid>/thumbnail/",
        attachment_views.attachment_thumbnail,
        name="attachment_thumbnail",
    ),
    path(
        "cases/<reference:reference>/attachments/<hex32:uid>/",
        attachment_views.attachment_image,
        name="attachment_image",
    ),
    path(
        "cases/<reference:reference>/attachments/<hex32:uid>/download/",
        attachment_views.attachment_download,
        name="attachment_download",
    ),
    # The caseworker's day: reply templates and follow-ups.
    path("templates/", template_views.template_list, name="templates"),
    path("templates/new/", template_views.template_new, name="template_new"),
    path("templates/<int:pk>/", template_views.template_edit, name="template_edit"),
    path("templates/<int:pk>/delete/", template_views.template_delete, name="template_delete"),
    path("due/", due_views.due, name="due"),
    path("due/digest/", due_views.digest_address, name="digest_address"),
    path("cases/<reference:reference>/follow-up/", due_views.case_follow_up, name="follow_up"),
]

"""
Attachments on the case page: a thumbnail, the full image and a download of
the clean copy, each opened through the one door (cases.access) and audited.

The responses are images a requester sent: they get a policy of their own that
allows nothing but the image (no script, no style, sandboxed, in case a
browser ever took one for a page), are never cached anywhere, and are never
sniffed into another type.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases.access import (
    ContentLocked,
    OpenedAttachment,
    caseworker_door,
    get_case_for,
    open_attachment,
)

ATTACHMENT_POLICY = "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def _image_response(opened: OpenedAttachment, disposition: str) -> HttpResponse:
    response = HttpResponse(opened.data, content_type=opened.media_type)
    response["Content-Security-Policy"] = ATTACHMENT_POLICY
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    attachment = opened.attachment
    extension = EXTENSIONS.get(opened.media_type, "img")
    # A neutral name: the case's own numbering, never anything from the upload.
    name = f"attachment-{attachment.position}-{attachment.page}.{extension}"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


def _locked() -> HttpResponse:
    response = HttpResponse(
        _("Your session cannot open this attachment."),
        status=403,
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@caseworker_door
def attachment_thumbnail(request: HttpRequest, reference: str, uid: str) -> HttpResponse:
    return _serve(request, reference, uid, "thumbnail", "inline")


@require_GET
@caseworker_door
def attachment_image(request: HttpRequest, reference: str, uid: str) -> HttpResponse:
    return _serve(request, reference, uid, "image", "inline")


@require_GET
@caseworker_door
def attachment_download(request: HttpRequest, reference: str, uid: str) -> HttpResponse:
    return _serve(request, reference, uid, "image", "attachment")


def _serve(request: HttpRequest, reference: str, uid: str, part: str, disposition: str):
    case = get_case_for(request, reference)
    try:
        opened = open_attachment(request, case, uid, part, download=disposition == "attachment")
    except ContentLocked:
        return _locked()
    return _image_response(opened, disposition)

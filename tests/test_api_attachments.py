"""The bot API takes files too: base64 in the JSON body, cleaned and limited as on
the form, refused with errors naming each file by position, stored once per
Idempotency-Key."""

import base64
import io

import pytest
from PIL import Image

from intake.models import Attachment, HelpRequest
from tests.attachment_helpers import jpeg_with_metadata, plain_jpeg
from tests.test_api import BODY, post, token  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_bot_sends_a_photo(client, token, alice):  # noqa: F811
    from tests.staffing import sign_in

    response = post(client, {**BODY, "attachments": [b64(jpeg_with_metadata("API7"))]}, token)

    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.request.reference == response.json()["reference"]
    sign_in(client, alice)
    image = client.get(f"/staff/cases/{attachment.request.reference}/attachments/{attachment.uid}/")
    assert image.status_code == 200
    assert b"API7" not in image.content
    assert not dict(Image.open(io.BytesIO(image.content)).getexif())


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["not base64!"], "File 1 is not valid base64."),
        ([b64(b"<html></html>")], "File 1: We can take only photos"),
        ([b64(plain_jpeg())] * 6, "You attached 6 files; at most 5 can be sent."),
        ([b64(b"")], "File 1 is empty."),
    ],
)
def test_refused_files_get_400_naming_each_and_store_nothing(client, token, files, expected):  # noqa: F811
    response = post(client, {**BODY, "attachments": files}, token)

    assert response.status_code == 400
    assert any(expected in message for message in response.json()["errors"]["attachments"])
    assert not HelpRequest.objects.exists()
    assert not Attachment.objects.exists()


def test_attachments_must_be_a_list_of_strings(client, token):  # noqa: F811
    response = post(client, {**BODY, "attachments": "abc"}, token)

    assert response.status_code == 400
    assert "attachments" in response.json()["errors"]


def test_a_retry_stores_the_files_once(client, token):  # noqa: F811
    body = {**BODY, "attachments": [b64(plain_jpeg())]}
    first = post(client, body, token, HTTP_IDEMPOTENCY_KEY="retry-key-0123456789abcdef")
    again = post(client, body, token, HTTP_IDEMPOTENCY_KEY="retry-key-0123456789abcdef")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Attachment.objects.count() == 1


def test_the_openapi_document_describes_attachments(client):
    schema = client.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/requests"]["post"]["requestBody"]["content"]
    files = body["application/json"]["schema"]["properties"]["attachments"]

    assert files["items"]["format"] == "byte"
    assert files["maxItems"] == 5

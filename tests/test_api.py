"""The intake API for messaging bots: tokens, JSON, clear errors, never a 500."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from core.clock import hour_of
from intake.models import BotToken, HelpRequest, SubmissionKey
from intake.services import (
    audit_bot_usage,
    create_bot_token,
    forget_retry_keys,
    revoke_bot_token,
)
from tests.content_keys import opened
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db

BODY = {
    "category": "border_crossing",
    "service_status": "mobilised",
    "location": "home_country",
    "urgency": "high",
    "legal_articles": ["337"],
    "contact": "@bot_user_1234",
    "narrative": "Got a summons, want to leave",
    "language": "ru",
}


@pytest.fixture
def token():
    admin = make_staff("api-admin", "admin").user
    return create_bot_token("telegram-bot", "telegram", actor=admin)[1]


def post(client, body, token: str | None = None, content_type="application/json", **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/v1/requests", data, content_type=content_type, **headers)


def test_a_bot_submits_and_gets_a_reference_and_receipt(client, token):
    response = post(client, BODY, token)

    assert response.status_code == 201
    answer = response.json()
    stored = HelpRequest.objects.get()
    assert answer["reference"] == stored.reference
    assert (stored.channel, stored.category) == ("telegram", "border_crossing")
    assert opened(stored, "contact") == {"contact": "@bot_user_1234"}
    assert stored.case.state == "new"
    status = client.post("/status/", {"code": answer["receipt_code"]})
    assert "Received." in status.content.decode()
    assert BotToken.objects.get().last_used_at == hour_of()


def test_each_bot_hour_is_audited_as_a_count_once_the_hour_is_over(client, token):
    post(client, BODY, token)
    post(client, BODY, token)

    assert audit_bot_usage() == 0  # the hour is not over: nothing dated yet
    assert not AuditEntry.objects.filter(action__startswith="api.request").exists()
    assert audit_bot_usage(now=timezone.now() + timedelta(hours=1)) == 1
    entry = AuditEntry.objects.get(action="api.requests")
    assert (entry.actor, entry.target) == ("bot:telegram-bot", "")
    assert entry.detail == {"hour": hour_of().isoformat(), "requests": 2}
    assert audit_bot_usage(now=timezone.now() + timedelta(hours=1)) == 0


def test_a_refused_request_is_counted_for_its_hour_not_audited_to_the_second(client, token):
    """An entry at the moment of a refusal would date the corrected resend."""
    post(client, {**BODY, "category": "holiday"}, token)
    post(client, "{not json", token)
    post(client, BODY, token)

    assert not AuditEntry.objects.filter(action__startswith="api.").exists()
    assert audit_bot_usage(now=timezone.now() + timedelta(hours=1)) == 1
    entry = AuditEntry.objects.get(action="api.requests")
    assert entry.detail == {"hour": hour_of().isoformat(), "requests": 1, "refusals": 2}


@pytest.mark.parametrize("bad", [None, "nonsense", "tropa_not-a-real-token"])
def test_a_missing_or_unknown_token_is_401(client, token, bad):
    response = post(client, BODY, bad)

    assert response.status_code == 401
    assert "Bearer" in response["WWW-Authenticate"]
    assert HelpRequest.objects.count() == 0


def test_a_revoked_token_stops_working(client, token):
    revoke_bot_token(BotToken.objects.get(), actor=None)

    assert post(client, BODY, token).status_code == 401


def test_tokens_are_stored_only_as_hashes(token):
    stored = BotToken.objects.get()

    assert token not in (stored.token_hash, stored.prefix)
    assert len(stored.token_hash) == 64


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "category": "holiday"}, "category"),
        ({**BODY, "narrative": ""}, "narrative"),
        ({**BODY, "legal_articles": "337"}, "legal_articles"),
        ({**BODY, "urgency": 3}, "urgency"),
        ({**BODY, "extra": "x"}, "extra"),
        ({k: v for k, v in BODY.items() if k != "location"}, "location"),
    ],
)
def test_bad_values_get_400_with_field_errors(client, token, body, field):
    response = post(client, body, token)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert HelpRequest.objects.count() == 0


@pytest.mark.parametrize(("raw", "status"), [("{not json", 400), ("[1, 2]", 400), ('"text"', 400)])
def test_bad_json_is_400(client, token, raw, status):
    assert post(client, raw, token).status_code == status


def test_other_content_types_and_methods_are_refused(client, token):
    assert (
        post(client, "a=b", token, content_type="application/x-www-form-urlencoded").status_code
        == 415
    )
    response = client.get("/api/v1/requests", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_a_huge_body_is_refused(client, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = post(client, {**BODY, "narrative": "x" * 20_000}, token)

    assert response.status_code == 413


def test_the_openapi_description_matches_the_api(client):
    from openapi_spec_validator import validate

    description = client.get("/api/v1/openapi.json").json()
    validate(description)
    schema = description["paths"]["/api/v1/requests"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert schema["properties"]["category"]["enum"] == [
        "desertion",
        "border_crossing",
        "consultation",
    ]
    assert set(schema["required"]) <= set(BODY)


def test_admins_make_and_revoke_tokens_in_the_staff_area(client, dave):
    sign_in(client, dave)
    page = client.post("/staff/bots/", {"name": "signal-bot", "channel": "signal"}).content.decode()
    bot = BotToken.objects.get(name="signal-bot")
    token = next(
        word
        for word in page.replace("<", " ").replace(">", " ").split()
        if word.startswith("tropa_")
    )
    assert post(client, BODY, token).status_code == 201

    client.post(f"/staff/bots/{bot.pk}/revoke/")
    assert post(client, BODY, token).status_code == 401
    assert AuditEntry.objects.filter(action="bot.revoke", target="signal-bot").exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {}, optional={key: json_values | st.just(value) for key, value in BODY.items()}
    ),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_no_json_makes_a_500_and_refused_bodies_store_nothing(client, token, body):
    before = HelpRequest.objects.count()
    response = post(client, json.dumps(body), token)

    assert response.status_code in (201, 400, 429)
    expected = before + 1 if response.status_code == 201 else before
    assert HelpRequest.objects.count() == expected


def test_an_empty_language_is_refused_as_the_document_says(client, token):
    # Found by schemathesis: "" is not in the document's enum, and was taken as Russian.
    response = post(client, {**BODY, "language": ""}, token)

    assert response.status_code == 400
    assert "language" in response.json()["errors"]
    assert HelpRequest.objects.count() == 0
    without = {name: value for name, value in BODY.items() if name != "language"}
    assert post(client, without, token).status_code == 201


def test_a_repeated_article_is_refused_as_the_document_says(client, token):
    response = post(client, {**BODY, "legal_articles": ["332", "332"]}, token)

    assert response.status_code == 400
    assert "legal_articles" in response.json()["errors"]
    assert HelpRequest.objects.count() == 0


@pytest.mark.parametrize(
    "field", [("narrative", "a\ud800b"), ("contact", "\udfff"), ("alias", "x\udbff")]
)
def test_unpaired_surrogate_escapes_are_a_400_not_a_500(client, token, field):
    name, value = field
    # json.dumps writes the lone surrogate as the escape "\\ud800", as a bot could.
    response = post(client, json.dumps({**BODY, name: value}), token)

    assert response.status_code == 400
    assert name in response.json()["errors"]
    assert HelpRequest.objects.count() == 0


def test_the_length_limit_counts_the_spaces_around_the_text(client, token):
    response = post(client, {**BODY, "narrative": "  " + "x" * 9_999}, token)

    assert response.status_code == 400
    assert "narrative" in response.json()["errors"]


def request_schema(client) -> dict:
    description = client.get("/api/v1/openapi.json").json()
    operation = description["paths"]["/api/v1/requests"]["post"]
    return operation["requestBody"]["content"]["application/json"]["schema"]


# Text near the rules: white space of every kind (Python's and others'),
# NUL and other control characters, letters.
tricky_text = st.text(
    alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000\ufeff\x00\x01\x7fяx"),
    max_size=6,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(["narrative", "contact", "alias"]), text=tricky_text)
def test_the_server_accepts_exactly_the_text_the_document_allows(client, token, field, text):
    from jsonschema import Draft202012Validator

    body = {**BODY, field: text}
    allowed = Draft202012Validator(request_schema(client)).is_valid(body)

    response = post(client, body, token)

    assert response.status_code == (201 if allowed else 400), (repr(text), response.content)


# --- retries (fourth review, item 7) -------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_gets_the_same_reference_and_code(client, token):
    key = "1b7f3c2e-4a5d-4e6f-9a8b-7c6d5e4f3a2b"

    first = post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key)
    retry = post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert HelpRequest.objects.count() == 1
    status = client.post("/status/", {"code": retry.json()["receipt_code"]})
    assert "Received." in status.content.decode()


def test_the_code_is_not_stored_for_the_retry(client, token):
    key = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    code = post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key).json()["receipt_code"]

    stored = SubmissionKey.objects.get()
    plain = code.replace("-", "")
    for value in (stored.index, stored.body):
        assert plain not in value and plain[4:] not in value and key not in value


def test_another_key_or_no_key_stores_another_request(client, token):
    post(client, BODY, token, HTTP_IDEMPOTENCY_KEY="a" * 20 + "1")
    post(client, BODY, token, HTTP_IDEMPOTENCY_KEY="a" * 20 + "2")
    post(client, BODY, token)
    post(client, BODY, token)

    assert HelpRequest.objects.count() == 4


def test_the_same_key_for_a_different_request_is_refused(client, token):
    key = "b" * 32
    post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key)

    response = post(
        client, {**BODY, "narrative": "Something else"}, token, HTTP_IDEMPOTENCY_KEY=key
    )

    assert response.status_code == 409
    assert HelpRequest.objects.count() == 1


def test_another_bot_with_the_same_key_is_another_request(client, token):
    admin = make_staff("api-admin-2", "admin").user
    other = create_bot_token("signal-bot", "signal", actor=admin)[1]
    key = "c" * 32

    first = post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key).json()
    second = post(client, BODY, other, HTTP_IDEMPOTENCY_KEY=key).json()

    assert first["reference"] != second["reference"]
    assert first["receipt_code"] != second["receipt_code"]


@pytest.mark.parametrize("key", ["short", "x" * 256, "with space inside it ok"])
def test_a_malformed_key_is_refused_and_nothing_stored(client, token, key):
    response = post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]
    assert HelpRequest.objects.count() == 0


def test_retry_keys_are_forgotten_after_a_day(client, token):
    key = "d" * 32
    post(client, BODY, token, HTTP_IDEMPOTENCY_KEY=key)

    assert forget_retry_keys(now=timezone.now() + timedelta(hours=23)) == 0
    assert forget_retry_keys(now=timezone.now() + timedelta(hours=26)) == 1
    assert SubmissionKey.objects.count() == 0

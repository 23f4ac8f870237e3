"""The public form: short, safe, clear about what is wrong, never a 500."""

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case, CaseEvent
from intake.models import HelpRequest
from tests.content_keys import opened
from tests.intake_helpers import VALID, form_data, receipt_of, submit

pytestmark = pytest.mark.django_db


def test_the_form_asks_only_what_is_needed_in_plain_words(client):
    page = client.get("/").content.decode()

    for name in ("category", "service_status", "location", "urgency", "legal_articles",
                 "contact", "alias", "narrative"):  # fmt: skip
        assert f'name="{name}"' in page
    assert "I want to leave my unit" in page
    assert 'value="border_crossing"' in page  # the slug is the value, never the label
    assert "unit_number" not in page and "precise_location" not in page
    assert "What we keep and how we protect it" in page


def test_a_valid_request_is_stored_encrypted_with_a_new_case(client):
    code = submit(client)

    stored = HelpRequest.objects.get()
    assert (stored.category, stored.urgency, stored.channel) == ("desertion", "critical", "web")
    assert stored.legal_articles == ["338"]
    assert opened(stored, "narrative", "contact", "alias") == {
        "narrative": VALID["narrative"],
        "contact": VALID["contact"],
        "alias": VALID["alias"],
    }
    assert stored.language == "en"
    assert stored.case.state == "new"
    assert stored.case.priority == 0
    assert CaseEvent.objects.get(case=stored.case).kind == "created"
    # Neither the code nor its secret part is stored, only a keyed hash.
    secret = code.replace("-", "")[4:]
    assert stored.receipt_selector == code[:4]
    assert stored.receipt_hash.startswith("hmac-sha256$") and secret not in stored.receipt_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT narrative, contact, alias FROM intake_helprequest")
        raw = b"".join(bytes(value) for value in cursor.fetchone())
    for text in (VALID["narrative"], VALID["contact"], "Ivan"):
        assert text.encode() not in raw


def test_the_receipt_is_shown_in_groups_of_four_with_100_bits(client):
    code = receipt_of(client.post("/", form_data()))

    groups = code.split("-")
    assert [len(group) for group in groups] == [4, 4, 4, 4, 4]  # 20 × 5 bits
    assert submit(client) != code


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"category": "tourism"}, "Choose one of the answers on the list."),
        ({"narrative": "   "}, "Please describe your situation"),
        ({"narrative": "x" * 200_000}, "at most 10000 characters"),
        ({"urgency": ""}, "Choose how urgent it is."),
        ({"legal_articles": ["999"]}, "Tick only articles on the list."),
        ({"contact": "c" * 201}, "at most 200 characters"),
    ],
)
def test_invalid_input_is_refused_clearly_and_keeps_what_was_typed(client, change, message):
    response = client.post("/", form_data(**change))

    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert VALID["contact"] in body or "contact" in change  # what the person typed is kept
    assert HelpRequest.objects.count() == 0


def test_a_post_without_the_security_token_gets_a_clear_page():
    response = Client(enforce_csrf_checks=True).post("/", form_data())

    assert response.status_code == 403
    assert "Ничего не сохранено" in response.content.decode()
    assert VALID["narrative"] in response.content.decode()  # the form comes back filled in
    assert HelpRequest.objects.count() == 0


def test_a_filled_honeypot_is_refused_and_nothing_stored_but_the_text_kept(client):
    response = client.post("/", form_data(website="http://spam.example"))

    page = response.content.decode()
    assert response.status_code == 400
    assert "automatic programs" in page
    assert "They are sending us back next week and I cannot go.</textarea>" in page
    assert 'name="website" id="id_website" tabindex="-1" autocomplete="off" value=""' in page
    assert HelpRequest.objects.count() == 0


def test_the_limit_per_sender_answers_429_and_stores_nothing_more(client, settings):
    settings.INTAKE_RATE_LIMIT = "3/h"
    codes = [submit(client) for _ in range(3)]
    refused = client.post("/", form_data())

    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "wait 60 minutes and press Send again" in page
    # Many people can share one address: what was written comes back to send later.
    assert "They are sending us back next week and I cannot go.</textarea>" in page
    assert 'value="@form_contact_9001"' in page
    assert HelpRequest.objects.count() == len(codes) == 3


def test_senders_are_counted_apart(client, settings):
    settings.INTAKE_RATE_LIMIT = "1/h"
    assert client.post("/", form_data(), REMOTE_ADDR="192.0.2.1").status_code == 200

    assert client.post("/", form_data(), REMOTE_ADDR="192.0.2.1").status_code == 429
    assert client.post("/", form_data(), REMOTE_ADDR="192.0.2.2").status_code == 200


def test_with_the_per_sender_limit_off_past_the_global_ceiling_requests_are_held(client, settings):
    settings.INTAKE_RATE_LIMIT = "0"
    settings.INTAKE_GLOBAL_LIMIT = "4/h"
    statuses = [client.post("/", form_data()).status_code for _ in range(6)]

    # Still received, with receipts; the last two wait in the held list.
    assert statuses == [200] * 6
    assert Case.objects.filter(flood__isnull=True).count() == 4
    assert Case.objects.filter(flood__isnull=False).count() == 2


def test_one_flooding_sender_does_not_use_up_the_ceiling_for_everyone(client, settings):
    settings.INTAKE_RATE_LIMIT = "2/h"
    settings.INTAKE_GLOBAL_LIMIT = "5/h"
    flood = [client.post("/", form_data(), REMOTE_ADDR="192.0.2.9").status_code for _ in range(8)]
    others = [
        client.post("/", form_data(), REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(4)
    ]

    assert flood == [200, 200] + [429] * 6
    assert others == [200, 200, 200, 200]
    # The sender refused six times used up two of the five: the fourth other is held.
    assert Case.objects.filter(flood__isnull=False).count() == 1


def test_an_unreachable_cache_lets_requests_through_and_says_so(client, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        submit(client)

    assert HelpRequest.objects.count() == 1
    assert "rate limiting is unavailable" in caplog.text


def test_the_page_is_never_cached(client):
    assert (
        "no-store" in client.get("/")["Cache-Control"]
        or "max-age=0" in client.get("/")["Cache-Control"]
    )


form_values = st.fixed_dictionaries(
    {
        name: st.one_of(
            st.text(max_size=50), st.sampled_from(["desertion", "front_line", "338", ""])
        )
        for name in [*VALID, "website", "unexpected"]
    }
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=form_values)
def test_no_input_makes_a_500_and_rejected_input_stores_nothing(client, data):
    before = HelpRequest.objects.count()
    response = client.post("/", data)

    assert response.status_code in (200, 400, 429)
    if response.status_code == 200:
        assert HelpRequest.objects.count() == before + 1
    else:
        assert HelpRequest.objects.count() == before
        assert Case.objects.count() == before


def error_summary(page: str) -> list[tuple[str, str]]:
    """(link target, link text) of each entry of the form's error summary."""
    import re

    summary = page.split('class="form-errors error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a>', summary)


@pytest.mark.parametrize(
    ("language", "first_message", "narrative_message"),
    [
        ("en", "Choose what you need help with.", "Please describe your situation in a few words."),
        (
            "ru",
            "Выберите, с чем вам нужна помощь.",
            "Пожалуйста, опишите свою ситуацию в нескольких словах.",
        ),
    ],
)
def test_the_error_summary_links_every_field_in_error_to_the_field(
    language, first_message, narrative_message
):
    visitor = Client()
    visitor.cookies["django_language"] = language

    response = visitor.post("/", {"contact": "x" * 201, "narrative": ""})

    assert response.status_code == 400
    page = response.content.decode()
    summary = error_summary(page)
    assert [target for target, _text in summary] == [
        "id_category_0", "id_service_status_0", "id_location_0", "id_urgency_0",
        "id_narrative", "id_contact",
    ]  # fmt: skip
    # Each link says what to do (not the question followed by Django's words).
    assert (summary[0][1], summary[4][1]) == (first_message, narrative_message)
    for target, _text in summary:
        assert page.count(f'id="{target}"') == 1, target


def test_the_summary_names_only_the_fields_in_error_with_their_messages(client):
    page = client.post("/", form_data(narrative="")).content.decode()

    assert error_summary(page) == [
        ("id_narrative", "Please describe your situation in a few words.")
    ]
    summary = page.split('class="form-errors error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Please describe your situation in a few words." in summary


# --- what the requester's browser keeps (fourth review, item 8) -------------------------


def test_what_a_requester_types_is_kept_out_of_the_browser_and_spellcheckers(client):
    form = client.get("/").content.decode()
    code = submit(client)
    status = client.post("/status/", {"code": code}).content.decode()

    for name, page in [("contact", form), ("alias", form), ("narrative", form), ("body", status)]:
        tag = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', page).group(0)
        for attribute in ('autocomplete="off"', 'spellcheck="false"', 'autocapitalize="off"',
                          'autocorrect="off"'):  # fmt: skip
            assert attribute in tag, (name, attribute)


def test_the_receipt_and_status_pages_say_how_to_keep_the_code_safe(client):
    receipt = client.post("/", form_data()).content.decode()
    code = re.search(r"<code>([^<]+)</code>", receipt).group(1)
    status = client.post("/status/", {"code": code}).content.decode()

    for page in (receipt, status):
        assert "screenshot or a photo" in page
        assert "close this tab and clear the browser" in page
        assert "Tor Browser" in page
    assert "the code is not remembered here" not in status

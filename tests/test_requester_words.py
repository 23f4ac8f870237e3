"""
What a frightened requester reads (issue 23): a code typed on a Russian
keyboard opens its request, every public page gives the safety advice, no page
says «дело», validation speaks plainly, and the site's name is the
organisation's choice.
"""

import re
from pathlib import Path

import pytest
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.forms import ChoiceField, Field, MultipleChoiceField
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation

from intake.forms import SERVICE_CHOICES, PublicRequestForm
from intake.models import HelpRequest
from tests.intake_helpers import form_data, receipt_of, submit

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Latin letters of the code alphabet and the Cyrillic letters that look the same.
LOOKALIKES = str.maketrans("ABCEHKMPTX0", "АВСЕНКМРТХО")
CASE_WORD = re.compile(r"\bдел(?:о|а|у|ом|е|ам|ами|ах)?\b", re.IGNORECASE)


def visitor(language: str) -> Client:
    client = Client()
    client.cookies["django_language"] = language
    return client


def cyrillic(code: str) -> str:
    return code.translate(LOOKALIKES)


def code_with_lookalikes(client) -> str:
    # 11 of 32 characters have a look-alike: a code without any is one in ~4,500.
    for _ in range(5):
        code = submit(client)
        if cyrillic(code) != code:
            return code
    pytest.fail("no code with a Cyrillic look-alike in five tries")


# --- item 1: a code copied from paper on a Russian keyboard -----------------------------


@pytest.mark.parametrize("typing", [cyrillic, lambda code: cyrillic(code).lower()])
def test_a_code_typed_with_cyrillic_lookalikes_opens_its_request(client, typing):
    code = code_with_lookalikes(client)
    typed = typing(code)
    assert re.search("[А-Яа-я]", typed)

    page = client.post("/status/", {"code": typed}).content.decode()

    assert "Received. A caseworker will read it soon." in page
    sent = client.post("/status/message/", {"code": typed, "body": "Still here"})
    assert "Your message was sent." in sent.content.decode()
    assert HelpRequest.objects.get().messages.count() == 1


def test_a_wrong_code_in_cyrillic_gets_the_one_uniform_answer(client):
    code = code_with_lookalikes(client)
    wrong = cyrillic(code[:-1] + ("Z" if code[-1] != "Z" else "Y"))

    def error_of(typed: str) -> str:
        page = client.post("/status/", {"code": typed}).content.decode()
        return page.split('class="form-errors"', 1)[1].split("</div>", 1)[0]

    assert error_of(wrong) == error_of("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ") == error_of("дело")
    assert "Latin letters and digits only" in error_of(wrong)


# --- every public page, in both languages ------------------------------------------------


def public_pages(language: str, settings, used: set | None = None) -> dict[str, str]:
    """Every page a requester can reach, the error pages and refusals included
    (`used` collects the templates they were made from)."""
    client = visitor(language)
    pages = {}
    used = set() if used is None else used

    def keep(name, response):
        pages[name] = response.content.decode()
        used.update(template.name for template in response.templates)
        return response

    keep("form", client.get("/"))
    keep("form with errors", client.post("/", {"contact": "x" * 201, "narrative": ""}))
    keep("form, honeypot", client.post("/", form_data(website="http://spam.example")))
    receipt = keep("receipt", client.post("/", form_data()))
    code = receipt_of(receipt)
    keep("receipt again", client.post("/receipt/language/", {"code": code, "language": language}))
    token = re.search(r'name="once" value="([^"]+)"', client.get("/").content.decode()).group(1)
    client.post("/", {**form_data(), "once": token})
    keep("already sent", client.post("/", {**form_data(), "once": token}))
    keep("status lookup", client.get("/status/"))
    keep("status, wrong code", client.post("/status/", {"code": "ZZZZ"}))
    keep("status", client.post("/status/", {"code": code}))
    keep("status, empty message", client.post("/status/message/", {"code": code, "body": ""}))
    keep("message sent", client.post("/status/message/", {"code": code, "body": "Hello"}))
    keep("404", client.get("/no-such-page/"))
    keep("400", client.get("/status/%00"))
    csrf = visitor(language)
    csrf.handler.enforce_csrf_checks = True
    keep("csrf", csrf.post("/", form_data()))
    keep("csrf, message", csrf.post("/status/message/", {"code": code, "body": "Hello"}))
    keep("csrf, status lookup", csrf.post("/status/", {"code": code}))
    settings.INTAKE_RATE_LIMIT = "1/h"
    client.post("/", form_data())
    keep("form, too many", client.post("/", form_data()))
    settings.STATUS_RATE_LIMIT = "1/h"
    client.post("/status/", {"code": "ZZZZ"})
    keep("too many lookups", client.post("/status/", {"code": "ZZZZ"}))
    # Pages no request in a test reaches on its own (no key yet; a role's refusal).
    request = RequestFactory().get("/")
    with translation.override(language):
        for name in ("intake/not_ready.html", "403.html", "429.html"):
            pages[name] = render_to_string(name, request=request)
            used.add(name)
        # Sealing failed (tests/test_no_plaintext_fallback.py makes it happen).
        name = "intake/not_stored.html"
        pages[name] = render_to_string(
            name, {"form": PublicRequestForm(form_data()), "once": "x" * 22}, request=request
        )
        used.add(name)
    return pages


def test_every_public_template_is_among_the_pages_checked(settings):
    templates = {
        *[f"intake/{path.name}" for path in (TEMPLATES / "intake").glob("*.html")],
        "400.html",
        "403.html",
        "404.html",
        "429.html",
        "csrf_failure.html",
    } - {"intake/bots.html"}  # fmt: skip (bots.html is a staff page)
    used = set()

    public_pages("ru", settings, used)

    assert templates - used == set()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_safety_advice_is_on_every_public_page(settings, language):
    for name, page in public_pages(language, settings).items():
        assert 'class="safety"' in page, name
        block = page.split('class="safety"', 1)[1].split("</div>", 1)[0]
        assert "Tor Browser" in block, name


def test_the_server_error_page_gives_the_advice_in_both_languages():
    page = (TEMPLATES / "500.html").read_text(encoding="utf-8")
    blocks = [part.split("</p>", 1)[0] for part in page.split('class="safety">')[1:]]

    assert len(blocks) == 2 and all("Tor Browser" in block for block in blocks)
    assert "квитанц" not in page


def test_the_form_says_what_keeps_a_requester_safe_before_anything_is_typed():
    page = visitor("ru").get("/").content.decode()
    advice = page.split('class="safety"', 1)[1].split("</div>", 1)[0]

    assert page.index('class="safety"') < page.index("<form method")
    for words in ("Tor Browser", "приватном окне", "настоящее имя", "номер части",
                  "документов", "основным номером", "очистите историю"):  # fmt: skip
        assert words in advice, words


def test_staff_pages_do_not_carry_the_requesters_reminder():
    page = visitor("ru").get("/staff/login/").content.decode()

    assert 'class="safety"' not in page


def test_no_public_page_in_russian_calls_a_request_a_case(settings):
    pages = public_pages("ru", settings)
    pages["500.html"] = (TEMPLATES / "500.html").read_text(encoding="utf-8")

    for name, page in pages.items():
        assert not CASE_WORD.search(page), (name, CASE_WORD.search(page).group(0))


def test_the_contact_hint_steers_away_from_a_phone_number_and_the_alias_from_a_real_name():
    page = visitor("ru").get("/").content.decode()

    assert "номер телефона" not in page.replace("основным номером телефона", "")
    assert "не связанные с вашим именем и основным номером телефона" in page
    assert "Вымышленное имя" in page and "Настоящее имя не пишите" in page


# --- item 7: plain validation messages -----------------------------------------------------


def django_defaults() -> list[str]:
    """Django's own wording (its fixed part, before any placeholder), in Russian."""
    with translation.override("ru"):
        messages = [
            Field.default_error_messages["required"],
            ChoiceField.default_error_messages["invalid_choice"],
            MultipleChoiceField.default_error_messages["invalid_choice"],
            MultipleChoiceField.default_error_messages["invalid_list"],
            ProhibitNullCharactersValidator.message,
        ]
        too_long = MaxLengthValidator.message % {"limit_value": 10, "show_value": 11}
        return [str(message).split("%", 1)[0].strip() for message in messages] + [
            too_long.split(" 10 ", 1)[0]
        ]


def test_django_default_messages_never_reach_a_requester():
    client = visitor("ru")
    defaults = django_defaults()
    assert "Обязательное поле." in defaults

    pages = [
        client.post("/", {}),
        client.post("/", form_data(category="x", location="y", legal_articles=["1"])),
        client.post("/", form_data(narrative="ж" * 10_001, contact="c" * 201, alias="a" * 101)),
        client.post("/", form_data(narrative="a\x00b", contact="@a\x00")),
    ]
    code = submit(visitor("ru"))
    pages += [
        client.post("/status/message/", {"code": code, "body": "ж" * 5001}),
        client.post("/status/message/", {"code": code, "body": "a\x00b"}),
    ]
    for response in pages:
        page = response.content.decode()
        for default in defaults:
            assert default not in page, default
    assert "Выберите, с чем вам нужна помощь." in pages[0].content.decode()
    assert "Текст слишком длинный: можно не больше 10000 знаков, а в нём 10001." in (
        pages[2].content.decode()
    )
    assert "Сообщение слишком длинное" in pages[4].content.decode()


# --- items 9 to 11: the choices a requester reads --------------------------------------------


@pytest.mark.parametrize("language", ["ru", "en"])
def test_service_statuses_fit_a_telegram_button(language):
    with translation.override(language):
        labels = [str(label) for _value, label in SERVICE_CHOICES]

    assert all(len(label) <= 35 for label in labels), [x for x in labels if len(x) > 35]


def test_statuses_are_in_the_words_people_use_and_staff_keep_theirs():
    page = visitor("ru").get("/").content.decode()

    for words in ("Срочник", "Мобилизованный", "Контракт до 24.02.2022",
                  "Контракт после 24.02.2022", "Доброволец (отряд, БАРС, ЧВК)",
                  "Не служу (пришла повестка и т. п.)", "Не хочу отвечать",
                  "в колонии или после мобилизации",
                  "Хочу уйти из части (СОЧ, дезертирство)", "отказ воевать",
                  "расторжение контракта"):  # fmt: skip
        assert words in page, words
    with translation.override("ru"):
        from intake.vocabulary import ServiceStatus

        assert ServiceStatus.CONTRACT_WARTIME.label != "Контракт после 24.02.2022"


def test_the_places_do_not_overlap():
    page = visitor("ru").get("/").content.decode()

    assert "На фронте или в зоне боевых действий" in page
    assert "На оккупированной территории, вдали от фронта" in page
    assert "В России, вдали от фронта" in page


# --- item 6 and 12: the organisation's own words ---------------------------------------------


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_site_name_setting_replaces_the_brand_line(settings, language):
    settings.SITE_NAME = "Фонд «Тропинка»"

    pages = public_pages(language, settings)

    for name, page in pages.items():
        assert 'class="brand" href="/">Фонд «Тропинка»</a>' in page, name
        for brand in ("Помощь в уходе из армии", "Help to leave the army"):
            assert brand not in page, name


def test_without_a_site_name_the_brand_is_neutral():
    page = visitor("ru").get("/").content.decode()

    assert 'class="brand" href="/">Консультации</a>' in page
    assert "армии" not in page.split("<main", 1)[0]


def test_the_organisations_line_for_danger_right_now_is_by_the_question_and_on_the_receipt(
    client, settings
):
    settings.URGENT_HELP_TEXT = "We answer within two hours. Meanwhile: the shelter line."

    form = client.get("/").content.decode()
    urgency = form.split('name="urgency"', 1)[0].rsplit("<fieldset", 1)[1]
    critical = client.post("/", form_data(urgency="critical")).content.decode()
    normal = client.post("/", form_data(urgency="normal")).content.decode()

    assert settings.URGENT_HELP_TEXT in urgency
    assert settings.URGENT_HELP_TEXT in critical
    assert settings.URGENT_HELP_TEXT not in normal
    # The receipt's own language switch keeps it.
    again = client.post(
        "/receipt/language/", {"code": receipt_of_page(critical), "language": "ru", "urgent": "1"}
    )
    assert settings.URGENT_HELP_TEXT in again.content.decode()


def receipt_of_page(page: str) -> str:
    return re.search(r"<code>([0-9A-Z-]{24})</code>", page).group(1)


def test_the_default_line_for_danger_right_now_is_in_russian():
    page = visitor("ru").get("/").content.decode()

    assert "Заявки тех, кому угрожает опасность прямо сейчас, мы читаем первыми." in page


def test_status_words_do_not_close_a_door():
    with translation.override("ru"):
        from intake.views import STATE_WORDS

        words = {state: str(text) for state, text in STATE_WORDS.items()}

    assert "отправьте новую заявку" in words["closed"]
    assert "отправьте новую заявку" in words["rejected"]
    assert "напишите нам ниже" in words["resolved"]

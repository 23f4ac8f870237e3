"""Reply templates: managed at /staff/templates/, inserted on a case page without JavaScript."""

import pytest

from audit.models import AuditEntry
from cases.models import ReplyTemplate
from intake.models import RequestMessage
from tests.content_keys import opened
from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db

FIRST_ANSWER = "We have read your request. Write to us only from a safe phone."


def write(client, title="First answer", language="en", body=FIRST_ANSWER):
    return client.post(
        "/staff/templates/new/", {"title": title, "language": language, "body": body}
    )


def case_page(case, query: str = "") -> str:
    return f"/staff/cases/{case.request.reference}/{query}"


def test_the_empty_list_says_what_templates_are_for(client, alice):
    sign_in(client, alice)
    body = client.get("/staff/templates/").content.decode()

    assert "No reply templates yet" in body
    assert 'href="/staff/templates/new/"' in body


def test_a_caseworker_writes_a_template_and_it_is_audited(client, alice):
    sign_in(client, alice)
    response = write(client)

    assert response.status_code == 302
    template = ReplyTemplate.objects.get()
    assert (template.title, template.language, template.body) == (
        "First answer", "en", FIRST_ANSWER,
    )  # fmt: skip
    assert template.created_by == template.updated_by == alice.user
    entry = AuditEntry.objects.get(action="template.create")
    assert (entry.actor, entry.target, entry.detail) == (
        "alice", f"template {template.pk}", {"language": "en"},
    )  # fmt: skip
    assert "First answer" in client.get("/staff/templates/").content.decode()


def test_the_audit_log_never_holds_a_templates_words(client, alice):
    sign_in(client, alice)
    write(client)
    template = ReplyTemplate.objects.get()
    client.post(
        f"/staff/templates/{template.pk}/",
        {"title": "Renamed", "language": "ru", "body": "Другой текст"},
    )
    client.post(f"/staff/templates/{template.pk}/delete/")

    written = " ".join(
        f"{entry.target} {entry.detail}"
        for entry in AuditEntry.objects.filter(action__startswith="template.")
    )
    assert AuditEntry.objects.filter(action__startswith="template.").count() == 3
    for words in ("First answer", "Renamed", FIRST_ANSWER, "Другой текст"):
        assert words not in written


def test_a_form_with_errors_changes_nothing(client, alice):
    sign_in(client, alice)
    response = write(client, title="", body="")

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ReplyTemplate.objects.exists()


def test_the_same_title_twice_in_one_language_is_refused(client, alice):
    sign_in(client, alice)
    write(client)
    response = write(client, body="another text")

    assert response.status_code == 200
    assert "already exists in this language" in response.content.decode()
    assert ReplyTemplate.objects.count() == 1
    assert write(client, language="ru").status_code == 302


def test_a_template_is_edited_by_someone_else(client, alice, bob):
    sign_in(client, alice)
    write(client)
    template = ReplyTemplate.objects.get()
    client.logout()
    sign_in(client, bob)

    form = client.get(f"/staff/templates/{template.pk}/").content.decode()
    response = client.post(
        f"/staff/templates/{template.pk}/",
        {"title": "First answer", "language": "en", "body": "Shorter."},
    )

    assert FIRST_ANSWER in form
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.body, template.created_by, template.updated_by) == (
        "Shorter.", alice.user, bob.user,
    )  # fmt: skip
    assert AuditEntry.objects.get(action="template.change").actor == "bob"


def test_deleting_asks_first(client, alice):
    sign_in(client, alice)
    write(client)
    template = ReplyTemplate.objects.get()

    confirmation = client.get(f"/staff/templates/{template.pk}/delete/")
    assert confirmation.status_code == 200
    assert "Delete the template “First answer”?" in confirmation.content.decode()
    assert ReplyTemplate.objects.exists()

    assert client.post(f"/staff/templates/{template.pk}/delete/").status_code == 302
    assert not ReplyTemplate.objects.exists()
    assert AuditEntry.objects.get(action="template.delete").target == f"template {template.pk}"


def test_the_list_is_paginated(client, alice):
    ReplyTemplate.objects.bulk_create(
        ReplyTemplate(title=f"Answer {n:02d}", language="en", body="text") for n in range(30)
    )
    sign_in(client, alice)

    first = client.get("/staff/templates/").content.decode()
    second = client.get("/staff/templates/?page=2").content.decode()

    assert "Answer 00" in first and "Answer 25" not in first
    assert "Answer 25" in second and "Page 2 of 2" in second


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_coordinators_and_admins_may_not_manage_templates(client, who, request):
    template = ReplyTemplate.objects.create(title="First answer", language="en", body="text")
    sign_in(client, request.getfixturevalue(who))

    for path in (
        "/staff/templates/",
        "/staff/templates/new/",
        f"/staff/templates/{template.pk}/",
        f"/staff/templates/{template.pk}/delete/",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/staff/templates/{template.pk}/delete/").status_code == 403
    assert ReplyTemplate.objects.exists()


def test_an_unknown_template_is_404(client, alice):
    sign_in(client, alice)

    assert client.get("/staff/templates/999/").status_code == 404
    assert client.post("/staff/templates/999/delete/").status_code == 404


# --- on the case page ----------------------------------------------------------------


def test_the_case_page_offers_the_templates_in_the_cases_language_first(client, alice):
    ReplyTemplate.objects.create(title="First answer", language="en", body="text")
    ReplyTemplate.objects.create(title="Первый ответ", language="ru", body="текст")
    english = CaseFactory(request__language="en")
    russian = CaseFactory(request__language="ru")
    sign_in(client, alice)

    for case, first, second in ((english, "English", "Russian"), (russian, "Russian", "English")):
        body = client.get(case_page(case)).content.decode()
        assert body.index(f'optgroup label="{first}"') < body.index(f'optgroup label="{second}"')
        assert "Use template" in body


def test_using_a_template_fills_the_reply_box_to_be_edited_and_sent(client, alice):
    template = ReplyTemplate.objects.create(title="First answer", language="en", body=FIRST_ANSWER)
    case = CaseFactory(request__language="en")
    sign_in(client, alice)

    chosen = client.get(case_page(case, f"?template={template.pk}")).content.decode()
    assert f'id="reply_body">\n{FIRST_ANSWER}</textarea>' in chosen
    assert f'<option value="{template.pk}" selected>' in chosen

    edited = FIRST_ANSWER + " Your case is GL-1."
    response = client.post(case_page(case, "reply/"), {"body": edited})

    assert response.status_code == 302
    message = RequestMessage.objects.get(request=case.request)
    assert opened(message, "body") == {"body": edited}
    assert AuditEntry.objects.filter(action="case.reply", target=case.request.reference).exists()


def test_a_template_that_is_not_there_fills_nothing(client, alice):
    case = CaseFactory()
    sign_in(client, alice)

    for query in ("?template=999", "?template=abc", "?template=", "?template=1" + "0" * 40):
        response = client.get(case_page(case, query))
        assert response.status_code == 200
        assert 'id="reply_body">\n</textarea>' in response.content.decode()


def test_without_templates_the_case_page_points_to_writing_them(client, alice):
    case = CaseFactory()
    sign_in(client, alice)
    body = client.get(case_page(case)).content.decode()

    assert "Write reply templates" in body
    assert "Use template" not in body


def test_the_template_pages_are_in_russian(client, alice):
    ReplyTemplate.objects.create(title="Первый ответ", language="ru", body="текст")
    sign_in(client, alice)
    client.cookies["django_language"] = "ru"

    listing = client.get("/staff/templates/").content.decode()
    form = client.get("/staff/templates/new/").content.decode()

    assert "Шаблоны ответов" in listing
    assert "Новый шаблон" in form

"""Reply templates: managed at /staff/templates/, inserted on a case page without JavaScript."""

import io
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuditEntry
from cases.access import open_templates
from cases.models import ReplyTemplate
from cases.reply_templates import create_template
from encryption.fields import Sealed, Unsealed
from intake.models import RequestMessage
from tests.conftest import remember_sensitive
from tests.content_keys import opened, organisation_keys
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db

FIRST_ANSWER = "We have read your request. Write to us only from a safe phone."


def write(client, title="First answer", language="en", body=FIRST_ANSWER):
    return client.post(
        "/staff/templates/new/", {"title": title, "language": language, "body": body}
    )


def stored(title: str, language: str, body: str) -> ReplyTemplate:
    """A template as a caseworker with access writes it (sealed)."""
    return create_template(
        title=title, language=language, body=body, actor=None, keys=organisation_keys()
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
    assert (opened(template, "title", "body"), template.language) == (
        {"title": "First answer", "body": FIRST_ANSWER}, "en",
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
    assert (opened(template, "body")["body"], template.created_by, template.updated_by) == (
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
    for n in range(30):
        stored(f"Answer {n:02d}", "en", "text")
    sign_in(client, alice)

    first = client.get("/staff/templates/").content.decode()
    second = client.get("/staff/templates/?page=2").content.decode()

    assert "Answer 00" in first and "Answer 25" not in first
    assert "Answer 25" in second and "Page 2 of 2" in second


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_coordinators_and_admins_may_not_manage_templates(client, who, request):
    template = stored("First answer", "en", "text")
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
    stored("First answer", "en", "text")
    stored("Первый ответ", "ru", "текст")
    english = CaseFactory(request__language="en")
    russian = CaseFactory(request__language="ru")
    sign_in(client, alice)

    for case, first, second in ((english, "English", "Russian"), (russian, "Russian", "English")):
        body = client.get(case_page(case)).content.decode()
        assert body.index(f'optgroup label="{first}"') < body.index(f'optgroup label="{second}"')
        assert "Use template" in body


def test_using_a_template_fills_the_reply_box_to_be_edited_and_sent(client, alice):
    template = stored("First answer", "en", FIRST_ANSWER)
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
    stored("Первый ответ", "ru", "текст")
    sign_in(client, alice)
    client.cookies["django_language"] = "ru"

    listing = client.get("/staff/templates/").content.decode()
    form = client.get("/staff/templates/new/").content.decode()

    assert "Шаблоны ответов" in listing
    assert "Новый шаблон" in form


# --- sealed like notes (third security review, item 8) ----------------------------------------

SECRET_TITLE = "Crossing at the northern post 8801"
SECRET_BODY = "Go to the northern post on Tuesday night and ask for Marat 8802."


def database_cells():
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                yield from row


def in_the_database(text: str) -> bool:
    needle = text.encode()
    for value in database_cells():
        raw = bytes(value) if isinstance(value, memoryview | bytes) else str(value).encode()
        if needle in raw:
            return True
    return False


def test_the_raw_database_holds_no_templates_words(client, alice):
    remember_sensitive(SECRET_TITLE, SECRET_BODY)
    sign_in(client, alice)
    write(client, title=SECRET_TITLE, body=SECRET_BODY)
    template = ReplyTemplate.objects.get()

    assert not in_the_database(SECRET_TITLE) and not in_the_database(SECRET_BODY)
    # Sealed to the organisation, not only encrypted at rest: ENCRYPTION_KEY opens nothing.
    assert isinstance(template.title, Sealed) and isinstance(template.body, Sealed)
    assert opened(template, "title", "body") == {"title": SECRET_TITLE, "body": SECRET_BODY}
    assert SECRET_TITLE in client.get("/staff/templates/").content.decode()


def test_a_caseworker_waiting_for_access_sees_no_template_and_writes_none(client):
    stored(SECRET_TITLE, "en", SECRET_BODY)
    newcomer = make_staff("nina", "caseworker", with_access=False)
    sign_in(client, newcomer)

    listing = client.get("/staff/templates/").content.decode()
    form = client.get(f"/staff/templates/{ReplyTemplate.objects.get().pk}/")
    refused = write(client, title="Trap", body="Write to this number: +7 900 000-00-00")

    # Without the organisation key every caseworker page leads to "waiting for
    # access" (cases.access.may_act), and writing is refused.
    assert SECRET_TITLE not in listing
    assert form.status_code == 302 and form["Location"] == "/staff/access/"
    assert SECRET_BODY not in form.content.decode()
    assert refused.status_code == 403
    assert ReplyTemplate.objects.count() == 1


def test_a_template_from_before_sealing_works_and_is_sealed_when_first_opened(client, alice):
    template = stored_in_clear_before_sealing(SECRET_TITLE, SECRET_BODY)
    case = CaseFactory(request__language="en")
    sign_in(client, alice)

    chosen = client.get(case_page(case, f"?template={template.pk}")).content.decode()

    assert f'id="reply_body">\n{SECRET_BODY}</textarea>' in chosen
    template.refresh_from_db()
    assert isinstance(template.title, Sealed) and isinstance(template.body, Sealed)
    assert opened(template, "title", "body") == {"title": SECRET_TITLE, "body": SECRET_BODY}
    assert SECRET_TITLE in client.get("/staff/templates/").content.decode()


def test_seal_content_seals_a_template_from_before_sealing():
    template = stored_in_clear_before_sealing(SECRET_TITLE, SECRET_BODY)

    call_command("seal_content", stdout=io.StringIO(), stderr=io.StringIO())

    template.refresh_from_db()
    assert isinstance(template.title, Sealed) and isinstance(template.body, Sealed)
    assert opened(template, "title", "body") == {"title": SECRET_TITLE, "body": SECRET_BODY}


def stored_in_clear_before_sealing(title: str, body: str) -> ReplyTemplate:
    """A template as migration 0011 leaves one written before templates were sealed."""
    remember_sensitive(title, body)
    ReplyTemplate.objects.bulk_create(
        [ReplyTemplate(title=Unsealed(title), body=Unsealed(body), language="en")]
    )
    template = ReplyTemplate.objects.get()
    assert isinstance(template.title, Unsealed)
    return template


def test_after_a_shred_no_template_is_left_to_open(monkeypatch, client, alice):
    stored(SECRET_TITLE, "en", SECRET_BODY)
    keys_of_before = organisation_keys()

    monkeypatch.setattr(sys, "stdin", io.StringIO("shred\nyes, destroy every key\n"))
    call_command("shred_content_keys", stdout=io.StringIO())

    assert not ReplyTemplate.objects.exists()
    assert not in_the_database(SECRET_TITLE) and not in_the_database(SECRET_BODY)
    assert open_templates(keys_of_before) == []  # not even with the key from before
    assert AuditEntry.objects.get(action="content_key.shred").detail["reply_templates"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_templates_and_takes_them_out_of_the_clear():
    executor = MigrationExecutor(connection)
    before = [("cases", "0011_flood_rejection_and_held_bytes")]
    after = [("cases", "0012_reply_templates_sealed")]
    executor.migrate(before)
    old_state = executor.loader.project_state(before).apps
    OldTemplate = old_state.get_model("cases", "ReplyTemplate")
    OldTemplate.objects.create(title=SECRET_TITLE, language="en", body=SECRET_BODY)
    assert in_the_database(SECRET_BODY)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert not in_the_database(SECRET_TITLE) and not in_the_database(SECRET_BODY)
    template = ReplyTemplate.objects.get()
    assert (str(template.title), str(template.body)) == (SECRET_TITLE, SECRET_BODY)
    assert isinstance(template.title, Unsealed)
    [opened_template] = open_templates(organisation_keys())
    assert (opened_template.title, opened_template.body) == (SECRET_TITLE, SECRET_BODY)

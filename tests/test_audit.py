"""The audit log: append-only, hash-chained, verifiable, free of sensitive values."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.models import AppendOnlyError, AuditEntry
from audit.services import record, record_many
from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def tamper(sql: str, params: list) -> None:
    """What someone with the database's owner rights could do."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


def some_entries(n: int = 5) -> list[AuditEntry]:
    return [record("test.event", target=f"T-{i}", number=i) for i in range(n)]


def test_an_untouched_log_verifies_and_says_how_many(client, alice):
    sign_in(client, alice)
    some_entries()

    count = AuditEntry.objects.count()
    head = AuditEntry.objects.order_by("-seq").first()
    assert verify().splitlines() == [
        f"Audit log intact: {count} entries verified.",
        f"Last entry: {head.seq}:{head.entry_hash} "
        "(keep it off the server; --expect checks it later).",
    ]


def test_entries_appended_together_chain_like_entries_appended_one_by_one():
    record("test.event", target="before")
    record_many("test.event", ["T-1", "T-2", "T-3"], actor="purge", number=7)
    after = record("test.event", target="after")

    entries = list(AuditEntry.objects.order_by("seq"))
    assert [entry.target for entry in entries] == ["before", "T-1", "T-2", "T-3", "after"]
    assert [entry.seq for entry in entries] == list(range(1, 6))
    assert entries[2].actor == "purge" and entries[2].detail == {"number": 7}
    assert after.prev_hash == entries[3].entry_hash
    assert verify().startswith("Audit log intact: 5 entries verified.")


def test_an_edited_entry_breaks_the_chain_and_is_named():
    entries = some_entries()
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = %s", ["T-forged", entries[2].seq])

    with pytest.raises(CommandError, match=rf"broken at entry #{entries[2].seq}: its content"):
        verify()


def forged(field: str, entry: AuditEntry) -> tuple[str, object]:
    """SQL for a new value of one stored column, and that value."""
    if field == "at":
        later = entry.at + timedelta(hours=1)
        return "%s", connection.ops.adapt_datetimefield_value(later)
    if field == "detail":
        cast = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        return cast, '{"number": 99}'
    if field == "seq":
        return "%s", entry.seq + 1000
    if field in ("prev_hash", "entry_hash"):
        return "%s", "f" * 64
    return "%s", f"forged-{field}"


@pytest.mark.parametrize(
    "field", ["seq", "at", "actor", "action", "target", "detail", "prev_hash", "entry_hash"]
)
def test_changing_any_one_stored_field_of_an_entry_breaks_the_chain(field):
    entries = [record("test.event", actor="alice", target=f"T-{i}", number=i) for i in range(5)]
    assert [f.column for f in AuditEntry._meta.concrete_fields if f.column != "id"] == [
        "seq",
        "at",
        "actor",
        "action",
        "target",
        "detail",
        "prev_hash",
        "entry_hash",
    ]  # a new column must join the hash, and this test
    placeholder, value = forged(field, entries[2])
    tamper(
        f"UPDATE audit_auditentry SET {field} = {placeholder} WHERE seq = %s",  # noqa: S608
        [value, entries[2].seq],
    )

    with pytest.raises(CommandError, match=r"broken at entry #"):
        verify()


def test_a_deleted_entry_breaks_the_chain():
    entries = some_entries()
    tamper("DELETE FROM audit_auditentry WHERE seq = %s", [entries[1].seq])

    with pytest.raises(CommandError, match=rf"broken at entry #{entries[1].seq}: .* missing"):
        verify()


def test_deleting_the_newest_entries_is_noticed_too():
    entries = some_entries()
    tamper("DELETE FROM audit_auditentry WHERE seq >= %s", [entries[3].seq])

    with pytest.raises(CommandError, match="should reach"):
        verify()


def test_the_orm_refuses_to_change_or_delete_entries():
    entry = some_entries(1)[0]
    entry.target = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(target="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_postgresql_itself_refuses_to_change_entries(uses_postgres):
    entry = some_entries(1)[0]
    if not uses_postgres:
        assert entry.entry_hash == entry.compute_hash()  # SQLite relies on the chain alone
        return
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET target = 'x' WHERE id = %s", [entry.pk])


def test_a_full_day_of_work_writes_no_sensitive_value(client, alice):
    case = CaseFactory(request__narrative="SECRET-NARRATIVE", request__contact="@SECRET_CONTACT")
    sign_in(client, alice)
    ref = case.request.reference
    client.get(f"/staff/cases/{ref}/")
    client.post(f"/staff/cases/{ref}/move/", {"to_state": "triaged", "expected_state": "new"})
    client.post(f"/staff/cases/{ref}/notes/", {"body": "SECRET-NOTE"})
    client.post("/staff/login/", {"username": "alice", "password": "SECRET-PASSWORD"})

    dump = "".join(f"{e.actor}|{e.action}|{e.target}|{e.detail}" for e in AuditEntry.objects.all())
    for secret in ("SECRET-NARRATIVE", "SECRET_CONTACT", "SECRET-NOTE", "SECRET-PASSWORD"):
        assert secret not in dump


def test_admins_browse_and_filter_the_log(client, dave):
    sign_in(client, dave)
    record("case.view", actor="alice", target="GL-AAAA-AAAA")
    record("case.view", actor="bob", target="GL-BBBB-BBBB")

    body = client.get("/staff/audit/?actor=bob").content.decode()

    assert "GL-BBBB-BBBB" in body
    assert "GL-AAAA-AAAA" not in body
    assert "has not been checked yet" in client.get("/staff/audit/?verify=1").content.decode()

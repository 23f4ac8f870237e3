"""
Checking the audit chain in the background: a page never walks the chain, a
check continues from the last intact one, and a full check is still possible.
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit.checks import run_check
from audit.models import AuditEntry, ChainCheck
from audit.services import record
from tests.conftest import wait_for
from tests.staffing import sign_in
from tests.test_audit import some_entries, tamper

pytestmark = pytest.mark.django_db


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit_log", *args, stdout=out)
    return out.getvalue()


def forge_from(seq: int, target: str) -> None:
    """
    What someone who can write the database can do: change an entry and
    recompute every hash after it, and the head, so the chain is consistent.
    """
    entries = list(AuditEntry.objects.filter(seq__gte=seq).order_by("seq"))
    previous = AuditEntry.objects.get(seq=seq - 1).entry_hash if seq > 1 else "0" * 64
    for entry in entries:
        if entry.seq == seq:
            entry.target = target
        entry.prev_hash = previous
        entry.entry_hash = previous = entry.compute_hash()
        tamper(
            "UPDATE audit_auditentry SET target = %s, prev_hash = %s, entry_hash = %s "
            "WHERE seq = %s",
            [entry.target, entry.prev_hash, entry.entry_hash, entry.seq],
        )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_chainhead SET last_hash = %s", [previous])


def test_the_log_page_never_walks_the_chain(client, dave):
    entries = some_entries()
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = %s", ["x", entries[2].seq])
    sign_in(client, dave)

    body = client.get("/staff/audit/?verify=1").content.decode()

    assert "The chain has not been checked yet." in body
    assert "broken" not in body
    assert not ChainCheck.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_admin_asks_for_a_check_and_the_page_shows_its_result(
    client, dave, celery_worker_or_eager
):
    some_entries()
    sign_in(client, dave)

    response = client.post("/staff/audit/verify/")

    assert response.status_code == 302
    assert wait_for(lambda: ChainCheck.objects.filter(status="intact").exists())
    check = ChainCheck.objects.get()
    assert check.requested_by == "dave"
    head = AuditEntry.objects.order_by("-seq").first()
    assert (check.verified_seq, check.verified_hash) == (head.seq, head.entry_hash)
    body = client.get("/staff/audit/").content.decode()
    assert f"The chain is intact up to entry #{head.seq}" in body


def test_a_broken_chain_is_shown_as_broken(client, dave):
    entries = some_entries()
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = %s", ["x", entries[2].seq])
    run_check()
    sign_in(client, dave)

    body = client.get("/staff/audit/").content.decode()

    assert f"The chain is broken at entry #{entries[2].seq}: its content" in body


def test_a_second_request_waits_for_the_check_under_way(client, dave):
    sign_in(client, dave)
    ChainCheck.objects.create(requested_at=timezone.now())

    client.post("/staff/audit/verify/")

    assert ChainCheck.objects.count() == 1
    assert "already under way" in client.get("/staff/audit/").content.decode()


def test_only_admins_can_ask_and_only_by_post(client, alice, carol, dave):
    for person in (alice, carol):
        other = client.__class__()
        sign_in(other, person)
        assert other.post("/staff/audit/verify/").status_code == 403
    sign_in(client, dave)
    assert client.get("/staff/audit/verify/").status_code == 405
    assert not ChainCheck.objects.exists()


def test_a_check_reads_only_what_came_after_the_last_intact_one():
    some_entries(5)
    first = run_check()
    more = some_entries(3)

    second = run_check()

    assert second.status == "intact"
    assert second.entries == 3
    assert second.first_seq == first.verified_seq + 1
    assert second.verified_seq == more[-1].seq


def test_an_edit_after_the_checkpoint_is_caught():
    some_entries(3)
    run_check()
    later = some_entries(3)
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = %s", ["x", later[1].seq])

    check = run_check()

    assert (check.status, check.broken_at) == ("broken", later[1].seq)


def test_a_rewrite_behind_the_checkpoint_is_caught_by_the_next_check():
    entries = some_entries(6)
    run_check()
    record("test.event", target="after the check")

    forge_from(entries[1].seq, "forged")
    check = run_check()

    assert check.status == "broken"
    assert check.broken_at == entries[-1].seq  # the checkpoint's entry lost its hash
    assert "no longer matches the last verified check" in check.reason


def test_the_command_checks_from_the_start_and_a_noted_hash_catches_a_forger():
    entries = some_entries(4)
    line = verify().splitlines()[1]
    noted = line.split()[2]
    assert verify("--expect", noted)

    forge_from(entries[0].seq, "forged")

    assert "Audit log intact" in verify()  # the forgery is consistent...
    with pytest.raises(CommandError, match="no longer has the expected hash"):
        verify("--expect", noted)  # ...but not with what was written down


def test_the_command_can_read_only_since_the_checkpoint():
    some_entries(4)
    verify()
    some_entries(2)

    assert (
        verify("--since-checkpoint")
        .splitlines()[0]
        .startswith("Audit log intact: 2 entries verified since entry #")
    )
    with pytest.raises(CommandError, match="SEQ:HASH"):
        verify("--expect", "12:nothex")


def test_beat_checks_every_night_and_from_the_start_every_week(settings):
    jobs = {job["task"]: job["schedule"] for job in settings.CELERY_BEAT_SCHEDULE.values()}

    assert jobs["audit.verify_chain"].day_of_week == set(range(7))
    assert len(jobs["audit.verify_chain_from_start"].day_of_week) == 1

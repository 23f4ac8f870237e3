"""
Security review, item 4: the password step tells nobody which usernames exist
or which accounts are locked, a guesser gets nowhere, and an outsider cannot
keep staff locked out.
"""

import re

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from audit.models import AuditEntry
from tests.staffing import PASSWORD, enter_password, make_staff, sign_in, totp_code

pytestmark = pytest.mark.django_db
CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def from_address(address: str) -> Client:
    other = Client(REMOTE_ADDR=address)
    other.cookies["django_language"] = "en"
    return other


def answer(client: Client, username: str, password: str) -> tuple[int, bytes]:
    response = enter_password(client, username, password)
    return response.status_code, CSRF_TOKEN.sub(b"", response.content)


def lock_from(client: Client, username: str) -> None:
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        enter_password(client, username, "wrong password")


def test_unknown_known_and_locked_accounts_get_the_same_answer(client):
    unknown = answer(client, "erin", PASSWORD)  # before erin exists
    make_staff("erin", "caseworker")
    wrong = answer(client, "erin", "wrong password")
    lock_from(client, "erin")
    locked_right_password = answer(client, "erin", PASSWORD)
    locked_wrong_password = answer(client, "erin", "another wrong one")

    assert unknown[0] == 200
    assert unknown == wrong == locked_right_password == locked_wrong_password


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, for tests) that counts the hashes computed."""

    computed = 0

    def encode(self, password, salt):
        type(self).computed += 1
        return super().encode(password, salt)


def hashes_for(client: Client, username: str, password: str) -> int:
    before = CountingHasher.computed
    enter_password(client, username, password)
    return CountingHasher.computed - before


def test_every_outcome_costs_exactly_one_password_hash(client, settings):
    settings.PASSWORD_HASHERS = ["tests.test_sign_in_throttle.CountingHasher"]
    alice = make_staff("alice", "caseworker")
    deactivated = make_staff("dora", "caseworker")
    deactivated.user.is_active = False
    deactivated.user.save()

    costs = {
        "unknown": hashes_for(client, "nobody", PASSWORD),
        "wrong": hashes_for(client, "alice", "wrong password"),
        "deactivated": hashes_for(client, "dora", PASSWORD),
    }
    lock_from(client, "alice")
    costs["locked"] = hashes_for(client, "alice", PASSWORD)
    costs["right"] = hashes_for(from_address("198.51.100.7"), alice.username, PASSWORD)

    assert costs == dict.fromkeys(costs, 1)


def test_one_source_cannot_lock_the_owner_out(alice):
    attacker = from_address("203.0.113.9")
    for _ in range(3 * settings.SIGN_IN_FAILURE_LIMIT):
        enter_password(attacker, "alice", "guess")

    owner = from_address("198.51.100.7")
    assert enter_password(owner, "alice")["Location"] == "/staff/verify/"
    # The guesser's own source stays refused, right password or not.
    assert enter_password(attacker, "alice").status_code == 200


def spread_failures(username: str, count: int) -> None:
    """`count` wrong passwords from as many sources as it takes, each stopping
    at its own limit: a guesser with many addresses."""
    per_source = settings.SIGN_IN_FAILURE_LIMIT
    for n in range(0, count, per_source):
        guesser = from_address(f"203.0.113.{n // per_source + 1}")
        for _ in range(min(per_source, count - n)):
            enter_password(guesser, username, "guess")


def test_a_guesser_with_many_addresses_gets_nowhere_but_a_known_browser_gets_in(client, alice):
    sign_in(client, alice)  # the owner's browser, known from now on
    client.post("/staff/logout/")

    spread_failures("alice", settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT)

    new_source = from_address("192.0.2.200")
    assert enter_password(new_source, "alice").status_code == 200  # refused, right password
    assert AuditEntry.objects.filter(action="auth.locked", detail__scope="account").count() == 1
    assert enter_password(client, "alice")["Location"] == "/staff/verify/"


def test_after_a_lock_one_more_wrong_password_does_not_lock_again(alice):
    from django.utils import timezone

    from accounts.models import SignInGuard

    spread_failures("alice", settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT)
    assert SignInGuard.objects.get(user=alice.user).is_locked
    # The lock runs out.
    SignInGuard.objects.update(locked_until=timezone.now())

    enter_password(from_address("192.0.2.1"), "alice", "one more guess")

    owner = from_address("192.0.2.2")
    assert enter_password(owner, "alice")["Location"] == "/staff/verify/"


def test_the_password_step_is_limited_per_source(settings, alice):
    settings.SIGN_IN_RATE_LIMIT = "4/h"
    sprayer = from_address("203.0.113.50")
    for n in range(4):
        assert enter_password(sprayer, f"name{n}", "guess").status_code == 200

    assert enter_password(sprayer, "alice").status_code == 429
    assert enter_password(from_address("198.51.100.7"), "alice").status_code == 302


def test_the_code_step_is_limited_per_source(settings, alice):
    settings.SIGN_IN_RATE_LIMIT = "3/h"
    guesser = from_address("203.0.113.51")
    enter_password(guesser, "alice")
    guesser.post("/staff/verify/", {"code": "000000"})
    guesser.post("/staff/verify/", {"code": "000001"})

    assert guesser.post("/staff/verify/", {"code": totp_code(alice.device)}).status_code == 429


def test_unknown_usernames_are_counted_not_audited(client, dave):
    before = AuditEntry.objects.count()
    for n in range(30):
        enter_password(from_address(f"203.0.113.{n}"), f"someone{n}", "guess")

    assert AuditEntry.objects.count() == before
    sign_in(client, dave)
    page = client.get("/staff/accounts/").content.decode()
    assert "In the last 7 days, 30 sign-in attempts used usernames that do not exist." in page

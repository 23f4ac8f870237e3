"""
After `shred_content_keys` the bot knows nobody (third security review, item 2):
a receipt code gets the answer an unknown code gets, and no dialogue, receipt
or other entry of the bot is left in the cache.
"""

import io
import sys

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from cases.services import reply_to_requester
from intake import receipts
from intake.models import HelpRequest
from tests.telegram.helpers import answer_everything, cache_entries, run_bot, submit_through_bot

pytestmark = pytest.mark.django_db

REPLY = "Мы ждём вас на вокзале в пятницу 6603"
NOT_FOUND = (
    "Заявки с таким кодом нет. Проверьте код знак за знаком: в нём только латинские буквы и цифры."
)


def shred(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("shred\nyes, destroy every key\n"))
    call_command("shred_content_keys", stdout=io.StringIO(), stderr=io.StringIO())


def bot_entries() -> list[str]:
    return [key for key, _raw, _ttl in cache_entries() if ":tg:" in key]


def test_after_a_shred_the_bot_answers_a_receipt_code_as_an_unknown_one(
    fake, ivan, alice, monkeypatch
):
    code = submit_through_bot(ivan)
    reply_to_requester(HelpRequest.objects.get().case, REPLY, author=alice.user)
    ivan.says(f"/status {code}")
    run_bot()
    assert REPLY in fake.sent_to(ivan)[-1]

    shred(monkeypatch)
    never_issued = receipts.formatted(code.replace("-", "")[:4] + receipts.new_code()[4:])
    ivan.says(f"/status {code}")
    ivan.says(f"/status {never_issued}")
    run_bot()

    assert fake.sent_to(ivan)[-2:] == [NOT_FOUND, NOT_FOUND]
    assert all(REPLY not in text for text in fake.sent_to(ivan)[-2:])


def test_a_shred_empties_the_bots_cache(fake, ivan, olga, monkeypatch):
    submit_through_bot(ivan)
    answer_everything(olga)  # half-way: her answers wait in the cache
    assert any(":tg:dialogue:" in key for key in bot_entries())

    shred(monkeypatch)

    assert bot_entries() == []
    detail = AuditEntry.objects.get(action="content_key.shred").detail
    assert detail["bot_cache_entries"] > 0

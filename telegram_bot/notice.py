"""
The reply notice: one fixed message through the Bot API to a requester who
asked, at the end of the bot's dialogue, to be told when a caseworker answers.

It is sent synchronously, from the caseworker's own request that opened the
sealed chat id (cases.access.reply_notice_chat): the chat id never goes
through the task queue, the cache or a log. The text says only that there is
an answer and how to read it; the answer itself stays behind the receipt code.
Nothing here logs the chat id, the token or the Bot API's URL (which holds the
token): a failure is logged by its kind alone.
"""

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

# A caseworker waits for this; the page then says whether it went out.
TIMEOUT_SECONDS = 5


def notice_text(language: str) -> str:
    with translation.override(language):
        return gettext("There is an answer to your request. Send /status to read it.")


def send_reply_notice(chat_id: int, language: str) -> bool:
    """Whether Telegram accepted the notice for this chat. Never raises."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        logger.warning("reply notice: no TELEGRAM_BOT_TOKEN is set")
        return False
    base = settings.TELEGRAM_API_URL.rstrip("/")
    if not base.startswith(("https://", "http://")):
        logger.warning("reply notice: TELEGRAM_API_URL is not an http(s) address")
        return False
    body = json.dumps({"chat_id": chat_id, "text": notice_text(language)}).encode()
    call = urllib.request.Request(  # noqa: S310 - the configured Bot API, http(s) only
        f"{base}/bot{token}/sendMessage",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        # The scheme was checked above (http or https only): bandit B310 reviewed.
        with urllib.request.urlopen(call, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 # nosec B310
            return bool(json.loads(answer.read() or b"{}").get("ok"))
    except urllib.error.HTTPError as error:
        logger.warning("reply notice: sendMessage refused (HTTP %s)", error.code)
    except Exception as error:
        logger.warning("reply notice: sendMessage failed (%s)", type(error).__name__)
    return False

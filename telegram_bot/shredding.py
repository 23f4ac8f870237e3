"""
What a shred destroys of the bot (encryption.signals.shredding): every entry
it keeps in the cache. A dialogue in progress holds what a person typed, and
a receipt on its way holds a code, sealed under a key the server can derive
from a suspect's chat id and ENCRYPTION_KEY: neither may outlive a shred.
"""

import logging

from telegram_bot.memory import count_every_chat, forget_every_chat

logger = logging.getLogger(__name__)


def forget_bot_conversations(sender, *, dry_run: bool, **kwargs) -> dict[str, int | None]:
    try:
        found = count_every_chat() if dry_run else forget_every_chat()
    except Exception as error:
        # The keys go whatever the cache does; the command says what it could not do.
        logger.warning(
            "shred: the bot's cache entries could not be deleted (%s)", type(error).__name__
        )
        found = None
    return {"bot_cache_entries": found}

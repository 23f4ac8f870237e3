"""manage.py run_telegram_bot [--drain]: the Telegram bot's own process."""

import signal
from urllib.parse import urlsplit

from aiogram.utils.token import TokenValidationError
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from telegram_bot.runner import BotFailure, BotRunner, hide_in_logs


class Command(BaseCommand):
    help = (
        "Run the Telegram bot: long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set. "
        "Stops cleanly on SIGTERM or Ctrl+C after the update in hand."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--drain",
            action="store_true",
            help="Handle the updates waiting at the Bot API, then exit (long polling only).",
        )

    def handle(self, *args, drain: bool, **options):
        token = settings.TELEGRAM_BOT_TOKEN
        if not token:
            raise CommandError(
                "TELEGRAM_BOT_TOKEN is not set: create the bot with @BotFather and put its "
                "token in the environment (README.md, 'Telegram bot')."
            )
        # Before anything can log a URL: the token is part of every Bot API address.
        hide_in_logs(token, settings.TELEGRAM_WEBHOOK_SECRET)
        try:
            runner = BotRunner(token, settings.TELEGRAM_API_URL, settings.TELEGRAM_REQUEST_TIMEOUT)
        except TokenValidationError:
            raise CommandError(
                "TELEGRAM_BOT_TOKEN is not a token from @BotFather (digits, a colon, then "
                "letters and digits, no spaces)."
            ) from None
        webhook = None
        if settings.TELEGRAM_WEBHOOK_URL and not drain:
            webhook = {
                "url": settings.TELEGRAM_WEBHOOK_URL,
                "secret": settings.TELEGRAM_WEBHOOK_SECRET,
                "listen": settings.TELEGRAM_WEBHOOK_LISTEN,
            }
        api = urlsplit(settings.TELEGRAM_API_URL).netloc
        mode = f"webhook on {settings.TELEGRAM_WEBHOOK_LISTEN}" if webhook else "long polling"
        self.stdout.write(f"Telegram bot: {mode}, Bot API at {api}.")
        previous = {}
        if not drain:
            # SIGTERM (systemd, docker) and Ctrl+C: finish the update in hand, then stop.
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, lambda *_: runner.request_stop())
        try:
            # The event loop runs in its own thread; the dialogue's database work
            # comes back to this one, like Django's own async-to-sync calls.
            async_to_sync(runner.run)(webhook=webhook, drain=drain)
        except BotFailure as error:
            raise CommandError(f"Telegram bot stopped: {error}") from None
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        self.stdout.write("Telegram bot stopped.")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelegramBotConfig(AppConfig):
    name = "telegram_bot"
    verbose_name = _("Telegram bot")

    def ready(self) -> None:
        from encryption.signals import shredding
        from telegram_bot.shredding import forget_bot_conversations

        shredding.connect(forget_bot_conversations, dispatch_uid="telegram_bot.forget")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import signals
        from accounts.roles import ensure_role_groups

        signals.connect()

        # Permissions exist only after every app migrated: groups follow them.
        post_migrate.connect(ensure_role_groups, dispatch_uid="accounts.ensure_role_groups")

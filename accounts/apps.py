from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import signals
        from accounts.roles import Role, ensure_role_groups
        from audit.labels import describe_values

        signals.connect()
        describe_values(("role", "from_role", "to_role", "groups"), dict(Role.choices))

        # Permissions exist only after every app migrated: groups follow them.
        post_migrate.connect(ensure_role_groups, dispatch_uid="accounts.ensure_role_groups")

"""
The audit log in words: what each action code means, what each detail says.

Entries keep the codes they were written with (`case.view`, `auth.failed`):
they are hashed as written, and scripts filter on them. Only the page puts
them into words, in the reader's language. A code without a label is shown
as it is, so nothing is ever hidden (tests/test_audit_labels.py checks that
every code the application writes has one).

Detail values that are the domain's own vocabulary (case states, roles) are
put into words by the app that owns it (`describe_values`, from its
AppConfig.ready); the few codes of the log's own details are here.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Each group is one prefix of the codes: "All …" in the filter selects them all.
GROUPS: list[tuple[str, Any, dict[str, Any]]] = [
    ("auth", _("Signing in and own security"), {
        "auth.password_accepted": _("Password accepted (first step)"),
        "auth.login": _("Signed in"),
        "auth.logout": _("Signed out"),
        "auth.failed": _("Failed sign-in"),
        "auth.locked": _("Sign-in paused after failures"),
        "auth.refused": _("Sign-in refused"),
        "auth.enrolled": _("Authenticator set up"),
        "auth.authenticator_replaced": _("Own authenticator replaced"),
        "auth.backup_codes_replaced": _("New backup codes made"),
        "auth.password_changed": _("Own password changed"),
        "auth.passkey_added": _("Own passkey added"),
        "auth.passkey_renamed": _("Own passkey renamed"),
        "auth.passkey_removed": _("Own passkey removed"),
        "auth.passkey_cloned": _("Passkey used from two places (a copy): switched off"),
    }),
    ("staff", _("Staff accounts, by an admin"), {
        "staff.create": _("Account created"),
        "staff.password_issued": _("One-time password issued"),
        "staff.reset_device": _("Authenticator reset"),
        "staff.deactivate": _("Account deactivated"),
        "staff.reactivate": _("Account reactivated"),
        "staff.role_changed": _("Role changed"),
        "staff.unlock": _("Sign-in pause lifted"),
        "staff.renew_credentials": _("Demo account renewed"),
    }),
    ("account", _("Account changes made elsewhere (a shell, createsuperuser)"), {
        "account.created": _("Account created elsewhere"),
        "account.changed": _("Account changed elsewhere"),
        "account.deleted": _("Account deleted"),
        "account.groups_changed": _("Roles changed elsewhere"),
        "account.device_added": _("Second factor added elsewhere"),
        "account.device_removed": _("Second factor removed elsewhere"),
    }),
    ("case", _("Cases"), {
        "case.view": _("Case opened"),
        "case.move": _("Case moved"),
        "case.assign": _("Case assigned"),
        "case.note": _("Note written"),
        "case.reply": _("Reply sent to the requester"),
        "case.reply_notice": _("Reply notice sent through the bot"),
        "case.contact": _("Contact outside the system recorded"),
        "case.release": _("Held request released"),
        "case.follow_up": _("Follow-up day set"),
        "case.refused": _("Refused: no access to the organisation key"),
        "case.reopen": _("Case reopened"),
        "case.merge": _("Request merged into an earlier one"),
        "case.unmerge": _("Merge undone"),
        "case.link": _("Requests linked"),
        "case.unlink": _("Link undone"),
    }),
    ("attachment", _("Attachments"), {
        "attachment.view": _("Attachment opened"),
        "attachment.download": _("Attachment downloaded"),
    }),
    ("held", _("Held during a flood"), {
        "held.reject_window": _("A whole flood rejected as spam (started)"),
        "held.rejected_window": _("A whole flood rejected as spam (done)"),
    }),
    ("template", _("Reply templates"), {
        "template.create": _("Reply template written"),
        "template.change": _("Reply template changed"),
        "template.delete": _("Reply template deleted"),
    }),
    ("view", _("Saved queue views"), {
        "view.save": _("Queue view saved"),
        "view.rename": _("Saved queue view renamed"),
        "view.delete": _("Saved queue view deleted"),
    }),
    ("follow_up", _("Follow-ups"), {
        "follow_up.digest": _("Follow-up digests mailed"),
        "follow_up.digest_address": _("Own digest address changed"),
    }),
    ("search", _("Searches"), {
        "search.reference": _("Searched by reference"),
        "search.contact": _("Searched by contact (never recorded)"),
    }),
    ("retention", _("Retention"), {
        "retention.purge": _("Retention purge run"),
        "retention.purge_case": _("Case content erased"),
    }),
    ("storage", _("Storage"), {
        "storage.rewrite": _("Tables rewritten"),
    }),
    ("stats", _("Statistics"), {
        "stats.export": _("Statistics exported"),
        "stats.chart": _("Chart downloaded"),
    }),
    ("report", _("Monthly reports"), {
        "report.regenerate": _("Report regenerated"),
    }),
    ("bot", _("Bot tokens"), {
        "bot.create": _("Bot token made"),
        "bot.revoke": _("Bot token revoked"),
    }),
    ("api", _("Bot API"), {
        "api.requests": _("Requests from a bot in one hour"),
        "api.refused": _("Bot request refused"),
    }),
    ("ops", _("Operations"), {
        "ops.unit_failed": _("A scheduled job failed"),
    }),
    ("lockdown", _("Emergency lockdown"), {
        "lockdown.start": _("Lockdown started"),
        "lockdown.lift_requested": _("Lifting the lockdown asked"),
        "lockdown.lift": _("Lockdown lifted"),
    }),
    ("content_key", _("Content keys"), {
        "content_key.bootstrap": _("Organisation key created"),
        "content_key.created": _("Caseworker key made"),
        "content_key.rewrapped": _("Caseworker key re-wrapped for a new password"),
        "content_key.forgotten": _("Content access dropped"),
        "content_key.grant": _("Content access granted"),
        "content_key.revoke": _("Content access revoked"),
        "content_key.recover": _("Access restored with the recovery key"),
        "content_key.rotation_started": _("Organisation key replacement started"),
        "content_key.retired": _("Old organisation key destroyed"),
        "content_key.shred": _("Every content key destroyed"),
        "content_key.sealed_existing": _("Older content sealed"),
        "content_key.bound_to_rows": _("Older content bound to its requests"),
    }),
    ("encryption", _("Encryption key"), {
        "encryption.rotate_start": _("Key rotation started"),
        "encryption.rotate": _("Key rotation ended"),
    }),
    ("admin", _("Django admin"), {
        "admin.add": _("Added in the Django admin"),
        "admin.change": _("Changed in the Django admin"),
        "admin.delete": _("Deleted in the Django admin"),
        "admin.action": _("Django admin action"),
    }),
]  # fmt: skip
ACTIONS: dict[str, Any] = {
    code: label for _p, _g, actions in GROUPS for code, label in actions.items()
}

DETAIL_KEYS: dict[str, Any] = {
    "stage": pgettext_lazy("audit detail", "step"),
    "factor": pgettext_lazy("audit detail", "second factor"),
    "failures": pgettext_lazy("audit detail", "failures"),
    "refused": pgettext_lazy("audit detail", "refused because"),
    "refusals": pgettext_lazy("audit detail", "requests refused"),
    "host": pgettext_lazy("audit detail", "host"),
    "since": pgettext_lazy("audit detail", "from"),
    "until": pgettext_lazy("audit detail", "up to"),
    "held": pgettext_lazy("audit detail", "held"),
    "rejected": pgettext_lazy("audit detail", "rejected"),
    "reason": pgettext_lazy("audit detail", "reason"),
    "scope": pgettext_lazy("audit detail", "paused for"),
    "minutes": pgettext_lazy("audit detail", "minutes"),
    "sessions": pgettext_lazy("audit detail", "sessions ended"),
    "sessions_ended": pgettext_lazy("audit detail", "sessions ended"),
    "replaced_issued_by": pgettext_lazy("audit detail", "replaced a password issued by"),
    "role": pgettext_lazy("audit detail", "role"),
    "from_role": pgettext_lazy("audit role", "from"),
    "to_role": pgettext_lazy("audit role", "to"),
    "groups": pgettext_lazy("audit detail", "roles"),
    "change": pgettext_lazy("audit detail", "change"),
    "fields": pgettext_lazy("audit detail", "fields"),
    "device": pgettext_lazy("audit detail", "second factor"),
    "from_state": pgettext_lazy("audit state", "from"),
    "to_state": pgettext_lazy("audit state", "to"),
    "assignee": pgettext_lazy("audit detail", "assigned to"),
    "note": pgettext_lazy("audit detail", "note number"),
    "message": pgettext_lazy("audit detail", "message number"),
    "other": pgettext_lazy("audit detail", "the other request"),
    "count": pgettext_lazy("audit detail", "cases"),
    "notes": pgettext_lazy("audit detail", "notes"),
    "messages": pgettext_lazy("audit detail", "messages"),
    "retention_days": pgettext_lazy("audit detail", "retention, days"),
    "method": pgettext_lazy("audit detail", "method"),
    "tables": pgettext_lazy("audit detail", "tables"),
    "waiting": pgettext_lazy("audit detail", "still waiting"),
    "seconds": pgettext_lazy("audit detail", "seconds"),
    "from": pgettext_lazy("audit month", "from"),
    "to": pgettext_lazy("audit month", "to"),
    "format": pgettext_lazy("audit detail", "format"),
    "min_cell": pgettext_lazy("audit detail", "smallest published count"),
    "headers": pgettext_lazy("audit detail", "column headers"),
    "chart": pgettext_lazy("audit detail", "chart"),
    "months": pgettext_lazy("audit detail", "months"),
    "channel": pgettext_lazy("audit detail", "channel"),
    "hour": pgettext_lazy("audit detail", "hour"),
    "requests": pgettext_lazy("audit detail", "requests"),
    "unknown": pgettext_lazy("audit detail", "unknown fields"),
    "asked_by": pgettext_lazy("audit detail", "asked by"),
    "complete": pgettext_lazy("audit detail", "complete"),
    "stopped_by": pgettext_lazy("audit detail", "stopped by"),
    "start_entry": pgettext_lazy("audit detail", "start entry"),
    "unfinished_run": pgettext_lazy("audit detail", "unfinished earlier run"),
    "old_keys": pgettext_lazy("audit detail", "old keys"),
    "batch_size": pgettext_lazy("audit detail", "batch size"),
    "rows": pgettext_lazy("audit detail", "rows"),
    "rows_changed": pgettext_lazy("audit detail", "rows changed"),
    "reencrypted": pgettext_lazy("audit detail", "values re-encrypted"),
    "already_current": pgettext_lazy("audit detail", "values already current"),
    "fingerprints_updated": pgettext_lazy("audit detail", "fingerprints updated"),
    "rewrite_tables": pgettext_lazy("audit detail", "tables to rewrite"),
    "grants": pgettext_lazy("audit detail", "grants"),
    "keys": pgettext_lazy("audit detail", "organisation keys"),
    "old_key": pgettext_lazy("audit detail", "old organisation key"),
    "new_key": pgettext_lazy("audit detail", "new organisation key"),
    "granted": pgettext_lazy("audit detail", "caseworkers granted"),
    "organisation_keys": pgettext_lazy("audit detail", "organisation keys"),
    "recovery_wraps": pgettext_lazy("audit detail", "recovery wraps"),
    "envelopes": pgettext_lazy("audit detail", "envelopes"),
    "caseworker_keys": pgettext_lazy("audit detail", "caseworker keys"),
    "fingerprints": pgettext_lazy("audit detail", "fingerprints erased"),
    "unsealed_rows": pgettext_lazy("audit detail", "rows never sealed, erased"),
    "receipt_codes": pgettext_lazy("audit detail", "receipt codes destroyed"),
    "requester_keys": pgettext_lazy("audit detail", "message keys of requesters destroyed"),
    "reply_templates": pgettext_lazy("audit detail", "reply templates destroyed"),
    "flood_digests": pgettext_lazy("audit detail", "flood digests erased"),
    "bot_cache_entries": pgettext_lazy("audit detail", "bot cache entries deleted"),
    "sealed_rows": pgettext_lazy("audit detail", "rows sealed"),
    "bound": pgettext_lazy("audit detail", "rows bound"),
    "closed": pgettext_lazy("audit detail", "rows not opened"),
    "values": pgettext_lazy("audit detail", "values"),
    "fingerprints_erased": pgettext_lazy("audit detail", "fingerprints erased"),
    "follow_up_on": pgettext_lazy("audit detail", "follow up on"),
    "language": pgettext_lazy("audit detail", "language"),
    "mails": pgettext_lazy("audit detail", "mails"),
    "address_given": pgettext_lazy("audit detail", "address given"),
    "results": pgettext_lazy("audit detail", "results"),
    "page": pgettext_lazy("audit detail", "page"),
    "passkey": pgettext_lazy("audit detail", "passkey number"),
    "passkeys": pgettext_lazy("audit detail", "passkeys removed"),
    "stored": pgettext_lazy("audit detail", "counter kept"),
    "received": pgettext_lazy("audit detail", "counter received"),
    "sent": pgettext_lazy("audit detail", "sent"),
    "file": pgettext_lazy("audit detail", "file"),
    "part": pgettext_lazy("audit detail", "what"),
    "attachments": pgettext_lazy("audit detail", "attachments deleted"),
}

# The codes of the log's own details.
_OWN_VALUES: dict[str, Any] = {
    "password": pgettext_lazy("audit detail", "password"),
    "code": pgettext_lazy("audit detail", "code"),
    "enrolment": pgettext_lazy("audit detail", "authenticator set-up"),
    "security": pgettext_lazy("audit detail", "own security page"),
    "session": pgettext_lazy("audit detail", "open session"),
    "choose_password": pgettext_lazy("audit detail", "choosing a password"),
    "totp": pgettext_lazy("audit detail", "authenticator"),
    "backup_code": pgettext_lazy("audit detail", "backup code"),
    "webauthn": pgettext_lazy("audit detail", "passkey or security key"),
    "webauthncredential": pgettext_lazy("audit detail", "passkey or security key"),
    "locked": pgettext_lazy("audit detail", "paused"),
    "lockdown": pgettext_lazy("audit detail", "lockdown"),
    "account": pgettext_lazy("audit detail", "the account"),
    "source": pgettext_lazy("audit detail", "one source"),
    "add": pgettext_lazy("audit detail", "added"),
    "remove": pgettext_lazy("audit detail", "removed"),
    "clear": pgettext_lazy("audit detail", "all removed"),
    "authenticatordevice": pgettext_lazy("audit detail", "authenticator"),
    "backupcodedevice": pgettext_lazy("audit detail", "backup codes"),
    "password_issued": pgettext_lazy("audit detail", "a one-time password was issued"),
    "deactivated": pgettext_lazy("audit detail", "the account was deactivated"),
    "credentials_renewed": pgettext_lazy("audit detail", "demo credentials renewed"),
    "key_unreadable": pgettext_lazy("audit detail", "the key no longer matched the password"),
    "role_removed": pgettext_lazy("audit detail", "no longer a caseworker"),
    "revocation": pgettext_lazy("audit detail", "access revoked"),
    "rotate_content_key": pgettext_lazy("audit detail", "rotate_content_key"),
    "no_organisation_key": pgettext_lazy("audit detail", "no access to the organisation key"),
    "thumbnail": pgettext_lazy("audit detail", "thumbnail"),
    "image": pgettext_lazy("audit detail", "full image"),
}
_OWN_VALUE_KEYS = frozenset(
    {"stage", "factor", "refused", "reason", "scope", "change", "device", "part"}
)
_DOMAIN_VALUES: dict[str, Mapping[str, Any]] = {}


def describe_values(keys: tuple[str, ...], labels: Mapping[str, Any]) -> None:
    """Put the values of these detail keys into words (an app's vocabulary)."""
    for key in keys:
        _DOMAIN_VALUES[key] = {**_DOMAIN_VALUES.get(key, {}), **labels}


def action_label(code: str) -> str:
    return str(ACTIONS.get(code, code))


def _value_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(_value_text(key, item) for item in value)
    words = None
    if isinstance(value, str):
        vocabulary = _OWN_VALUES if key in _OWN_VALUE_KEYS else _DOMAIN_VALUES.get(key, {})
        words = vocabulary.get(value)
    return str(words if words is not None else value)


def details(detail: dict) -> list[tuple[str, str]]:
    """An entry's details as (what, value) pairs in words, in the order written."""
    return [
        (str(DETAIL_KEYS.get(key, key)), _value_text(key, value))
        for key, value in (detail or {}).items()
    ]


def action_choices() -> list[tuple[Any, list[tuple[str, Any]]]]:
    """Grouped choices for the filter: each group's "all" first, then its actions."""
    choices = []
    for prefix, group, actions in GROUPS:
        each = sorted(actions.items(), key=lambda item: str(item[1]))
        choices.append((group, [(f"{prefix}.*", _("All: %(group)s") % {"group": group}), *each]))
    return choices


# Actors that are no person: a command or a task named in the log by a plain
# string (audit.services.actor_name). Shown as what they are, never as someone;
# no account may take one of these names (accounts.forms.NewStaffForm).
SYSTEM_ACTORS: dict[str, Any] = {
    "demo_setup": _("set up by the demo"),
    "digest": _("the daily digest"),
}


def actor_label(name: str) -> str:
    """A system actor in words; a username as it is."""
    return str(SYSTEM_ACTORS[name]) if name in SYSTEM_ACTORS else name

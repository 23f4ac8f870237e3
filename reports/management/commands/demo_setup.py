"""`manage.py demo_setup`: demo data and demo accounts for a newcomer's machine.

It lives in reports/, the top floor of the domain, because it builds every floor
below it (accounts, keys, requests, cases, stored reports); core/ imports no
domain app (../shared/STYLE.md, "Where the house stands")."""

import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import Role
from accounts.services import create_staff, renew_credentials
from cases.access import fingerprint_backlog
from cases.demo import working_day
from cases.retention import purge_expired, retention_days
from encryption import services as key_services
from encryption.access import ContentKeys
from encryption.content import CannotOpen
from intake.models import HelpRequest
from reports.models import MonthlyReport
from reports.services import months_with_requests, store_reports

DEMO_ACCOUNTS = {
    "demo-caseworker": Role.CASEWORKER,
    "demo-coordinator": Role.COORDINATOR,
    "demo-admin": Role.ADMIN,
}
# The last complete month beside the same month a year earlier, and the month
# under way: what the dashboard compares, in about a third of the rows of the
# whole history (which takes minutes to seed on a laptop).
DEMO_MONTHS = 14
CODES_PER_LINE = 5
# The demo's recovery key, kept beside the demo database so that the demo
# caseworker, whose password changes on every start, gets access back. On a
# real installation the recovery key lives on paper only (docs/encryption.md).
DEMO_RECOVERY_FILE = Path(settings.BASE_DIR) / ".demo-recovery-key"


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "(Re)create one demo account per role, the demo caseworker with access to case "
        "content; seed demo data into an empty database, erase what the nightly retention "
        "purge would have erased, and print how to sign in. Development only: refuses to run "
        "with DEBUG off."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--months",
            type=positive,
            default=DEMO_MONTHS,
            help=(
                f"months of demo requests for an empty database (default {DEMO_MONTHS}; "
                "57 or more reaches back to March 2022, the whole published history)"
            ),
        )

        parser.add_argument(
            "--fresh",
            action="store_true",
            help=(
                "renew the demo authenticators too (by default they are kept between starts, "
                "so an authenticator app that scanned them keeps working)"
            ),
        )

    def handle(self, *args, months: int, fresh: bool = False, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_setup creates accounts with printed passwords: DEBUG only.")
        # Accounts first: the first caseworker creates the organisation key
        # that the demo requests are then sealed to.
        accounts = {name: self._account(name, role, fresh) for name, role in DEMO_ACCOUNTS.items()}
        caseworker, password = accounts["demo-caseworker"]
        self._give_access(caseworker.user, caseworker.recovery_key)
        if not HelpRequest.objects.exists():
            call_command(
                "seed_demo", "--months", str(months), stdout=self.stdout, stderr=self.stderr,
                verbosity=0,
            )  # fmt: skip
        keys = ContentKeys(key_services.unlock(caseworker.user, password))
        self._working_day(caseworker.user, keys)
        self._purge()
        self._fingerprint(keys)
        if not MonthlyReport.objects.exists():
            # What beat would have stored month after month.
            started = time.monotonic()
            store_reports(months_with_requests())
            self.stdout.write(
                f"Stored {MonthlyReport.objects.count()} monthly reports "
                f"in {time.monotonic() - started:.1f} s."
            )
        self._print_accounts(accounts)

    def _account(self, username: str, role: str, fresh: bool):
        password = secrets.token_urlsafe(12)
        existing = get_user_model().objects.filter(username=username).first()
        if existing:
            renewed = renew_credentials(
                existing, password, actor="demo_setup", keep_authenticator=not fresh
            )
            return renewed, password
        return create_staff(username, role, password, actor="demo_setup"), password

    def _give_access(self, caseworker, recovery_key: str) -> None:
        """A new organisation key's recovery key is kept for the next start; on a
        later start the demo caseworker's fresh key gets access back with it."""
        if recovery_key:
            DEMO_RECOVERY_FILE.write_text(recovery_key + "\n", encoding="ascii")
            DEMO_RECOVERY_FILE.chmod(0o600)
            return
        if not DEMO_RECOVERY_FILE.exists():
            self.stderr.write(
                f"{DEMO_RECOVERY_FILE.name} is missing: the demo caseworker cannot be given "
                "access to case content. Delete db.sqlite3 to start the demo afresh."
            )
            return
        typed = DEMO_RECOVERY_FILE.read_text(encoding="ascii").strip()
        try:
            key_services.recover_access(caseworker, typed, actor="demo_setup")
        except (key_services.ContentKeyError, CannotOpen) as error:
            self.stderr.write(f"The demo caseworker has no access to case content: {error}")

    def _working_day(self, caseworker, keys: ContentKeys) -> None:
        """Cases, follow-ups and templates for the demo caseworker, and the first
        responses the seeded history lacks (cases.demo)."""
        done = working_day(caseworker, keys)
        if any(done.values()):
            self.stdout.write(
                f"A working day for demo-caseworker: {done['assigned']} case(s) assigned, "
                f"{done['follow_ups']} follow-up(s) due, {done['templates']} reply template(s), "
                f"{done['first_responses']} first response(s) recorded."
            )

    def _purge(self) -> None:
        """What the nightly purge (beat, 03:30) would have erased by now."""
        started = time.monotonic()
        # Large batches: nobody else is using the demo database yet.
        purged = purge_expired(batch_size=5000).purged
        if purged:
            self.stdout.write(
                f"Erased the content of {purged} finished case(s) with no activity for "
                f"{retention_days()} days, as the nightly retention purge would have, "
                f"in {time.monotonic() - started:.1f} s."
            )

    def _fingerprint(self, keys: ContentKeys) -> None:
        """What caseworkers' sessions would have done as they worked: repeat requesters."""
        started, done = time.monotonic(), 0
        while keys and (batch := fingerprint_backlog(keys, 2000)):
            done += batch
        if done:
            self.stdout.write(
                f"Fingerprinted {done} contacts for repeat requesters "
                f"in {time.monotonic() - started:.1f} s."
            )

    def _print_accounts(self, accounts: dict) -> None:
        self.stdout.write(
            "\nDemo accounts: passwords and backup codes are renewed on every start, the "
            "authenticators kept (`dev.py run --fresh` renews them too). Sign in at "
            "/staff/login/ with the password, then one of the backup codes (each works once) "
            "or a code from an authenticator app that scanned the otpauth:// link. The demo "
            "caseworker has access to case content.\n"
        )
        for username, role in DEMO_ACCOUNTS.items():
            staff, password = accounts[username]
            codes = staff.backup_codes
            lines = [
                " ".join(codes[i : i + CODES_PER_LINE])
                for i in range(0, len(codes), CODES_PER_LINE)
            ]
            indent = " " * 15
            label = f"{indent}{len(codes)} backup codes: "
            self.stdout.write(
                f"  {role:<12} user {username:<17} password {password}\n"
                f"{label}{lines[0]}\n"
                + "".join(f"{' ' * len(label)}{line}\n" for line in lines[1:])
                + f"{indent}{staff.otpauth_uri}\n"
            )

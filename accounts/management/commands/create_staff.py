"""`manage.py create_staff USERNAME --role ROLE [--json]`: bootstrap a staff account."""

import getpass
import io
import json
import os

import segno
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils import translation

from accounts.roles import Role
from accounts.services import create_staff


class Command(BaseCommand):
    help = (
        "Create a staff account with a TOTP device and 10 single-use backup codes. The "
        "password comes from STAFF_PASSWORD or a prompt. Prints the otpauth:// URI (and a "
        "QR code for the terminal) and the backup codes once. The first caseworker on an "
        "installation without an organisation key creates it and prints its recovery key once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="print one JSON object and nothing else",
        )

    def handle(self, *args, username: str, role: str, as_json: bool = False, **options) -> None:
        # Operators read English output; Django's own messages would follow LANGUAGE_CODE.
        with translation.override("en"):
            self._create(username, role, as_json)

    def _create(self, username: str, role: str, as_json: bool) -> None:
        password = os.environ.get("STAFF_PASSWORD") or self._ask_password()
        try:
            staff = create_staff(username, role, password, actor="manage.py create_staff")
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except IntegrityError:
            raise CommandError(f"An account named {username!r} already exists.") from None
        if as_json:
            self._print_json(username, role, staff)
        else:
            self._print_text(username, role, staff)

    def _ask_password(self) -> str:
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Password (again): ")
        except EOFError:  # no terminal and no STAFF_PASSWORD (a script, a pipe)
            message = "No password given: set STAFF_PASSWORD or run this in a terminal."
            raise CommandError(message) from None
        if password != again:
            raise CommandError("The two passwords differ.")
        if not password:
            raise CommandError("Set STAFF_PASSWORD or type a password.")
        return password

    def _print_json(self, username: str, role: str, staff) -> None:
        self.stdout.write(
            json.dumps(
                {
                    "username": username,
                    "role": role,
                    "otpauth_uri": staff.otpauth_uri,
                    "backup_codes": staff.backup_codes,
                    # Only when this account bootstrapped the organisation key.
                    **({"recovery_key": staff.recovery_key} if staff.recovery_key else {}),
                }
            )
        )

    def _print_text(self, username: str, role: str, staff) -> None:
        write = self.stdout.write
        write(f"Created {role} {username!r}.")
        write("Scan this with an authenticator app (it is shown only now):\n")
        qr = io.StringIO()
        segno.make(staff.otpauth_uri, error="m").terminal(out=qr, compact=True)
        write(qr.getvalue())
        write(f"\n{staff.otpauth_uri}\n")
        write("Backup codes, each works once (store them offline):")
        for code in staff.backup_codes:
            write(f"  {code}")
        if staff.recovery_key:
            write(
                "\nThis is the first caseworker: the organisation key that seals every case "
                "was created now. Its RECOVERY KEY is shown only this once. Write it on paper "
                "and keep it in a safe, never on a computer: with it, `manage.py "
                "recover_access` restores a caseworker's access if every password is lost.\n"
            )
            write(f"  {staff.recovery_key}\n")

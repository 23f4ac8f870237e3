"""`manage.py verify_audit_log [--since-checkpoint] [--expect SEQ:HASH]`: is the chain intact?"""

import re

from django.core.management.base import BaseCommand, CommandError

from audit.checks import run_check
from audit.models import AuditEntry

EXPECTED = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain from its first entry. Exits 0 and prints the number "
        "of entries and the last entry's number and hash when it is intact; exits 1 naming "
        "the first broken entry otherwise. The result is shown on the audit log page."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="only the entries after the last intact check (faster, trusts that check)",
        )
        parser.add_argument(
            "--expect",
            metavar="SEQ:HASH",
            help=(
                "also require that entry SEQ still has HASH: a number and hash this command "
                "printed earlier and that were kept off the server"
            ),
        )

    def handle(self, *args, since_checkpoint: bool, expect: str | None, **options) -> None:
        expected = EXPECTED.match(expect or "")
        if expect and not expected:
            raise CommandError(f"--expect must be SEQ:HASH (64 hex digits), not {expect!r}")
        check = run_check(from_start=not since_checkpoint)
        if check.status != check.Status.INTACT:
            raise CommandError(
                f"Audit log broken at entry #{check.broken_at}: {check.reason}. "
                f"{check.entries} entries before it verified."
            )
        if expected:
            seq, entry_hash = int(expected[1]), expected[2]
            entry = AuditEntry.objects.filter(seq=seq).first()
            if entry is None or entry.entry_hash != entry_hash:
                raise CommandError(
                    f"Audit log rewritten: entry #{seq} no longer has the expected hash, although "
                    "the chain is consistent. Someone with write access to the database "
                    "recomputed it."
                )
        scope = "" if not since_checkpoint else f" since entry #{check.first_seq - 1}"
        self.stdout.write(f"Audit log intact: {check.entries} entries verified{scope}.")
        self.stdout.write(
            f"Last entry: {check.verified_seq}:{check.verified_hash} "
            "(keep it off the server; --expect checks it later)."
        )

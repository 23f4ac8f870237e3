"""
`manage.py verify_audit_log [--since-checkpoint] [--expect SEQ:HASH] [--checkpoints [PATH]]`:
is the chain intact, and does it still pass through every signed checkpoint?
"""

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints
from audit.checks import run_check
from audit.models import AuditEntry

EXPECTED = re.compile(r"^(\d+):([0-9a-f]{64})$")
STORE = "the checkpoint store"


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

        parser.add_argument(
            "--checkpoints",
            nargs="?",
            const=STORE,
            metavar="PATH",
            help=(
                "also check every signed checkpoint in PATH (a folder, or a file of checkpoints "
                "pasted together from the admins' mail; without PATH, the configured checkpoint "
                "store): its signature, that none is missing, and that the chain passes through it"
            ),
        )
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            metavar="KEY",
            help="a public key checkpoints may be signed with (instead of the configured ones)",
        )

    def handle(self, *args, since_checkpoint: bool, expect: str | None, **options) -> None:
        expected = EXPECTED.match(expect or "")
        if expect and not expected:
            raise CommandError(f"--expect must be SEQ:HASH (64 hex digits), not {expect!r}")
        if options["checkpoints"]:
            if since_checkpoint or expect:
                raise CommandError(
                    "--checkpoints walks the whole chain itself: it does not combine with "
                    "--since-checkpoint or --expect."
                )
            self.check_checkpoints(options["checkpoints"], options["public_key"])
            return
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

    def check_checkpoints(self, where: str, public_keys: list[str]) -> None:
        if where == STORE:
            found, problems = checkpoints.read_store()
        else:
            path = Path(where)
            if not path.exists():
                raise CommandError(f"{where} is neither a file nor a folder.")
            found, problems = checkpoints.read_path(path)
        try:
            report = checkpoints.verify_checkpoints(found, problems, public_keys)
        except ValueError as error:  # a public key that is not one
            raise CommandError(str(error)) from None
        if not report.intact:
            for problem in report.problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(
                f"Audit log NOT proven by its checkpoints: {len(report.problems)} problem(s) "
                f"in {report.checkpoints} correctly signed checkpoint(s) from {where}."
            )
        self.stdout.write(
            f"Audit log intact: {report.entries} entries, and the chain passes through all "
            f"{report.checkpoints} signed checkpoints from {where}."
        )

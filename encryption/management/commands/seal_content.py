"""`manage.py seal_content [--batch-size N] [--dry-run] [--bind USERNAME]`: seal what
predates content keys, and bind what predates version 2 to its row."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.prompts import ask_secret
from encryption import services as key_services
from encryption.access import ContentKeys
from encryption.binding import BindingCounts, bind_all
from encryption.migration import DEFAULT_BATCH_SIZE, SealingCounts, content_models, seal_unsealed
from encryption.sealing import NoOrganisationKey, SealingFailed


class Command(BaseCommand):
    help = (
        "Seal to the organisation key every narrative, contact, note and message stored before "
        "content keys existed (readable with ENCRYPTION_KEY alone until then), batch by batch "
        "while the site runs, and erase fingerprints made under ENCRYPTION_KEY. Needs only the "
        "organisation's public key; an interrupted run resumes where it stopped. With --bind "
        "USERNAME (a caseworker with access; their password is asked), also seal again, bound "
        "to its request, everything sealed before version 2 (docs/encryption.md)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--dry-run", action="store_true", help="count; write nothing")
        parser.add_argument(
            "--bind",
            metavar="USERNAME",
            default="",
            help="a caseworker with access, to bind older content to its requests",
        )

    def handle(self, *args, batch_size: int, dry_run: bool, bind: str, **options) -> None:
        if batch_size < 1:
            raise CommandError(f"--batch-size must be 1 or more, not {batch_size}")
        keys = self._unlock(bind) if bind else None
        try:
            counts = seal_unsealed(batch_size=batch_size, dry_run=dry_run, progress=self._progress)
        except (NoOrganisationKey, SealingFailed) as error:
            raise CommandError(str(error)) from None
        verb = "Would seal" if dry_run else "Sealed"
        self.stdout.write(
            f"{verb} {counts.values} values in {counts.sealed_rows} of {counts.rows} rows; "
            f"{counts.fingerprints_erased} old fingerprints erased. Caseworkers' sessions make "
            "new fingerprints as they work (or run fingerprint_requests)."
        )
        if counts.sealed_rows and not dry_run:
            self.stdout.write(
                "The old values linger in the tables' files until they are rewritten tonight "
                "(or by manage.py rewrite_tables), and in backups until those expire."
            )
        if keys is None:
            if counts.unbound:
                self.stdout.write(
                    f"{counts.unbound} rows are sealed but not bound to their request yet: "
                    "run seal_content --bind USERNAME (a caseworker with access), or let "
                    "caseworkers open those cases."
                )
            return
        bound = bind_all(
            keys, content_models(), batch_size=batch_size, dry_run=dry_run,
            progress=self._bind_progress,
        )  # fmt: skip
        verb = "Would bind" if dry_run else "Bound"
        self.stdout.write(f"{verb} {bound.bound} of {bound.rows} rows to their request.")
        if bound.closed:
            raise CommandError(
                f"{bound.closed} rows could not be opened with {bind}'s keys (sealed to a key "
                "they do not hold, damaged, or moved from another request) and were left as "
                "they are."
            )

    def _unlock(self, username: str) -> ContentKeys:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account named {username!r}.")
        password = ask_secret(f"Password of {username}: ")
        if not user.check_password(password):
            raise CommandError("Wrong password.")
        keys = ContentKeys(key_services.unlock(user, password))
        if not keys:
            raise CommandError(f"{username} has no access to the content: a caseworker grants it.")
        return keys

    def _progress(self, model: str, counts: SealingCounts) -> None:
        self.stderr.write(f"  {model}: {counts.rows} rows read, {counts.sealed_rows} sealed")

    def _bind_progress(self, model: str, counts: BindingCounts) -> None:
        self.stderr.write(f"  {model}: {counts.rows} rows read, {counts.bound} bound")

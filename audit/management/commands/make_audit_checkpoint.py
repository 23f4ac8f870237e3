"""`manage.py make_audit_checkpoint`: sign the audit chain's head now and deliver it."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from audit import checkpoints


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head now (beat does it every AUDIT_CHECKPOINT_INTERVAL), "
        "write the checkpoint to the checkpoint store and print it; the admins get it in "
        "the daily mail. Exits 1 when the checkpoint could not be stored (it is retried)."
    )

    def handle(self, *args, **options) -> None:
        checkpoints.deliver_pending()
        try:
            checkpoint = checkpoints.make_checkpoint()
        except checkpoints.CheckpointError as error:
            raise CommandError(str(error)) from None
        except IntegrityError:
            raise CommandError(
                "Another checkpoint took this number at the same moment; run again."
            ) from None
        self.stdout.write(checkpoint.text, ending="")
        if not checkpoint.stored:
            raise CommandError(
                f"Checkpoint #{checkpoint.number} is signed but not stored "
                f"({checkpoint.store_error}); it is retried every ten minutes."
            )
        self.stdout.write(f"Stored as {checkpoint.stored_as}.")

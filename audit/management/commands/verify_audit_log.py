"""`manage.py verify_audit_log`: is the audit log's hash chain intact?"""

from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain. Exits 0 and prints the number of entries when "
        "it is intact; exits 1 naming the first broken entry otherwise."
    )

    def handle(self, *args, **options) -> None:
        result = verify_chain()
        if not result.intact:
            raise CommandError(
                f"Audit log broken at entry #{result.broken_at}: {result.reason}. "
                f"{result.entries} entries before it verified."
            )
        self.stdout.write(f"Audit log intact: {result.entries} entries verified.")

"""`manage.py fingerprint_requests USERNAME`: fingerprint contacts, e.g. after an import."""

from django.core.management.base import BaseCommand

from cases.access import fingerprint_backlog
from cases.management.commands._caseworker import unlock_caseworker

BATCH = 1000


class Command(BaseCommand):
    help = (
        "Compute the repeat-requester fingerprint of every request that has none yet (imported "
        "or received since a caseworker last worked), so that earlier requests from the same "
        "contact are found at once. Fingerprints are keyed from the organisation key: a "
        "caseworker with access runs it, and their password is asked for."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="a caseworker with access to the content")

    def handle(self, *args, username: str, **options) -> None:
        keys = unlock_caseworker(username).keys()
        total = 0
        while done := fingerprint_backlog(keys, BATCH):
            total += done
            self.stderr.write(f"  {total} requests fingerprinted")
        self.stdout.write(f"Fingerprinted {total} requests.")

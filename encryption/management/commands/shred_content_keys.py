"""`manage.py shred_content_keys [--dry-run]`: make every stored content unreadable, for ever."""

from django.core.management.base import BaseCommand, CommandError

from core.prompts import ask_line
from encryption import services

FIRST = "shred"
SECOND = "yes, destroy every key"
# What a shred leaves, in the words of its last line (docs/encryption.md, Shred).
REMAINS = (
    "What remains: each request's state (with its assignment and the categories the "
    "statistics count), its dates to the hour, the audit log's entries and the statistics; "
    "staff accounts stay, without keys. Nothing else can be read or matched: no narrative, "
    "contact, note, message, reply template or receipt code."
)
# The other apps' parts of a shred (encryption.signals), in the operator's words.
ELSEWHERE = {
    "receipt_codes": "receipt code(s) (hashes, and the key they were made with)",
    "requester_keys": "message key(s) sealed to requesters",
    "reply_templates": "reply template(s)",
    "flood_digests": "flood digest(s)",
    "attachments": "attachment(s) (rows now, storage objects once the shred is done)",
    "bot_cache_entries": "entry(-ies) of the bot's cache (dialogues, receipts on their way)",
}


class Command(BaseCommand):
    help = (
        "Destroy every grant, the recovery wrapping, every envelope and every key pair, end "
        "every session, and destroy what a receipt code or the server could still open: the "
        "receipt codes' hashes and key, the message keys sealed to requesters, the reply "
        "templates, flood digests and the bot's cached dialogues. All content (narratives, "
        "contacts, notes, messages) becomes unreadable for ever; states, dates to the hour, "
        "the audit log and statistics stay. For a raid. Asks for two typed confirmations; try "
        "--dry-run first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be destroyed; destroy nothing"
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        counts = services.shred_counts()
        self.stdout.write(
            f"This destroys {counts.organisation_keys} organisation key(s), {counts.grants} "
            f"grant(s), {counts.recovery_wraps} recovery wrapping(s), {counts.envelopes} "
            f"envelope(s) and {counts.caseworker_keys} caseworker key(s), ends "
            f"{counts.sessions} session(s), erases {counts.fingerprints} fingerprint(s) and the "
            f"content of {counts.unsealed_rows} row(s) never sealed (stored before content keys); "
            f"and {self._elsewhere(counts)}."
        )
        if dry_run:
            self.stdout.write("Dry run: nothing was destroyed.")
            return
        if ask_line(f'Type "{FIRST}" to continue: ') != FIRST:
            raise CommandError("Not confirmed: nothing was destroyed.")
        if ask_line(f'Nothing can bring the content back. Type "{SECOND}": ') != SECOND:
            raise CommandError("Not confirmed: nothing was destroyed.")
        done = services.shred(actor="manage.py shred_content_keys")
        self.stdout.write(f"Shredded: {self._elsewhere(done)} destroyed with every key.")
        for name, count in done.elsewhere.items():
            if count is None:
                self.stderr.write(
                    f"Could not destroy the {ELSEWHERE.get(name, name)}: the cache did not "
                    "answer. They expire by themselves within 24 hours."
                )
        self.stdout.write(
            "The next caseworker created with create_staff makes a new organisation key. Table "
            "files, WAL archives, snapshots and backups may still hold what was destroyed until "
            "they are overwritten or destroyed (docs/deployment.md)."
        )
        self.stdout.write(REMAINS)

    @staticmethod
    def _elsewhere(counts: services.ShredCounts) -> str:
        return ", ".join(
            f"{'?' if count is None else count} {ELSEWHERE.get(name, name)}"
            for name, count in counts.elsewhere.items()
        )

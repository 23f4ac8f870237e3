"""`manage.py seed_demo [--months N] [--seed S]`: clearly fake demo data."""

import time
from collections.abc import Iterable, Iterator
from itertools import islice

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from encryption.sealing import NoOrganisationKey
from encryption.services import has_organisation_key
from intake.demo import DemoGenerator
from intake.models import HelpRequest
from intake.services import store_batch

BATCH_SIZE = 2000


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Fill an empty database with synthetic, clearly fake requests shaped like the "
        "published figures (growth, the September 2022 mobilisation spike, desertion "
        "requests about 9%), with open cases in every state."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--months",
            type=positive,
            default=None,
            help="only the last N months up to this one (default: every month since March 2022)",
        )
        parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")

    def handle(self, *args, months: int | None, seed: int, verbosity: int = 1, **options) -> None:
        stored = HelpRequest.objects.count()
        if stored:
            raise CommandError(
                f"The database already holds {stored} request(s); seed_demo only fills an "
                "empty database, so demo data is never mixed with real requests."
            )
        if not has_organisation_key():
            raise CommandError(str(NoOrganisationKey.message))
        generator = DemoGenerator(seed=seed, today=timezone.localdate())
        chosen = generator.months(months)
        started = time.monotonic()
        created = 0
        with transaction.atomic():
            for batch in batched(generator.records(chosen), BATCH_SIZE):
                created += store_batch(batch).created
                if verbosity >= 1:
                    self.stderr.write(f"  {created} demo requests…")
        self.stdout.write(
            f"Seeded {created} demo requests over {len(chosen)} month(s) "
            f"({chosen[0]:%Y-%m} to {chosen[-1]:%Y-%m}) in {time.monotonic() - started:.1f} s."
        )

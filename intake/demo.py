"""
Synthetic, clearly fake requests shaped like the organisation's published
figures, for demos and benchmarks.

Monthly counts follow a fixed curve over the calendar, whatever the seed: slow
growth from March 2022, a spike at the September 2022 mobilisation, desertion
requests growing from 28 in January 2023 to 284 in January 2024, and
desertion-related requests about 9% of all. The seed only varies the details of
each row. Every identifying field says DEMO, so no one can mistake it for a
real person.
"""

import calendar
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from cases.workflow import CaseState, Outcome
from intake.references import ALPHABET, PREFIX
from intake.services import RequestRecord
from intake.vocabulary import Category, Channel, Location, ServiceStatus, Urgency

FIRST_MONTH = date(2022, 3, 1)
MOBILISATION = date(2022, 9, 1)
# Growth of desertion requests between the two published anchors
# (28 in January 2023, 284 in January 2024): about 21% a month.
ANCHOR_MONTH, ANCHOR_DESERTION = date(2023, 1, 1), 28
DESERTION_GROWTH = (284 / 28) ** (1 / 12)

# Shares quoted in SPEC.md for potential deserters: about half signed a
# contract after the war began, 10% before it, 30% were mobilised.
DESERTER_STATUS = {
    ServiceStatus.CONTRACT_WARTIME: 50,
    ServiceStatus.MOBILISED: 30,
    ServiceStatus.CONTRACT_PREWAR: 10,
    ServiceStatus.CONSCRIPT: 4,
    ServiceStatus.VOLUNTEER: 3,
    ServiceStatus.UNKNOWN: 2,
    ServiceStatus.CIVILIAN: 1,
}
CONSULTATION_STATUS = {
    ServiceStatus.CIVILIAN: 40,
    ServiceStatus.MOBILISED: 25,
    ServiceStatus.CONSCRIPT: 12,
    ServiceStatus.CONTRACT_WARTIME: 10,
    ServiceStatus.CONTRACT_PREWAR: 5,
    ServiceStatus.VOLUNTEER: 3,
    ServiceStatus.UNKNOWN: 5,
}
CHANNELS = {
    Channel.TELEGRAM: 45,
    Channel.WEB: 25,
    Channel.SIGNAL: 12,
    Channel.EMAIL: 10,
    Channel.PHONE: 5,
    Channel.OTHER: 3,
}
DESERTER_LOCATION = {
    Location.FRONT_LINE: 40,
    Location.HOME_COUNTRY: 30,
    Location.OCCUPIED_TERRITORY: 15,
    Location.ABROAD: 8,
    Location.UNKNOWN: 7,
}
CONSULTATION_LOCATION = {
    Location.HOME_COUNTRY: 65,
    Location.FRONT_LINE: 10,
    Location.OCCUPIED_TERRITORY: 8,
    Location.ABROAD: 10,
    Location.UNKNOWN: 7,
}
DESERTER_URGENCY = {Urgency.CRITICAL: 20, Urgency.HIGH: 40, Urgency.NORMAL: 30, Urgency.LOW: 10}
CONSULTATION_URGENCY = {Urgency.CRITICAL: 3, Urgency.HIGH: 12, Urgency.NORMAL: 55, Urgency.LOW: 30}
# About a quarter of potential deserters are helped to desert, 70% of them abroad.
DESERTER_OUTCOME = {
    Outcome.LEFT_COUNTRY: 18,
    Outcome.HIDING_IN_COUNTRY: 8,
    Outcome.CONSULTATION_GIVEN: 20,
    Outcome.REFERRED: 10,
    Outcome.LOST_CONTACT: 25,
    Outcome.RETURNED_TO_SERVICE: 8,
    Outcome.DETAINED: 3,
    Outcome.DECLINED: 8,
}
CONSULTATION_OUTCOME = {
    Outcome.CONSULTATION_GIVEN: 70,
    Outcome.REFERRED: 15,
    Outcome.LOST_CONTACT: 12,
    Outcome.DECLINED: 3,
}
NARRATIVES = (
    "[DEMO] Синтетическая заявка, не настоящий человек: вопрос о повестке.",
    "[DEMO] Синтетическая заявка, не настоящий человек: хочет покинуть часть.",
    "[DEMO] Synthetic request, not a real person: asks how to cross the border.",
    "[DEMO] Synthetic request, not a real person: asks about Article 337.",
)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def monthly_counts(month: date) -> dict[str, int]:
    """The fixed curve: how many requests of each category arrive in `month`."""
    index = months_between(FIRST_MONTH, month)
    total = 380 + 48 * min(index, 24) + 12 * max(0, index - 24)
    if month == MOBILISATION:
        total = int(total * 3.2)
    elif month == add_months(MOBILISATION, 1):
        total = int(total * 1.8)
    steps = months_between(ANCHOR_MONTH, month)
    if steps <= 12:
        desertion = round(ANCHOR_DESERTION * DESERTION_GROWTH**steps)
    else:
        # After January 2024 the growth slows to a plateau.
        desertion = round(284 + 6 * (steps - 12))
    border_crossing = max(1, round(desertion * 0.12))
    consultation = max(0, total - desertion - border_crossing)
    return {
        Category.DESERTION: desertion,
        Category.BORDER_CROSSING: border_crossing,
        Category.CONSULTATION: consultation,
    }


class DemoGenerator:
    """Yields RequestRecords month by month for the months asked for."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        self.references: set[str] = set()
        self.contacts: list[str] = []

    def months(self, count: int | None) -> list[date]:
        last = month_start(self.today)
        first = FIRST_MONTH if count is None else add_months(last, 1 - count)
        return [add_months(first, i) for i in range(months_between(first, last) + 1)]

    def records(self, months: list[date]) -> Iterator[RequestRecord]:
        for month in months:
            for category, count in monthly_counts(month).items():
                for _ in range(count):
                    record = self._record(month, category)
                    if record.received_at <= self.now:
                        yield record

    def _pick(self, weights: dict) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0].value

    def _reference(self) -> str:
        while True:
            body = "".join(self.rng.choice(ALPHABET) for _ in range(8))
            reference = f"{PREFIX}-{body[:4]}-{body[4:]}"
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def _contact(self, number: int) -> str:
        # A few people write more than once: the repeat-requester flag needs them.
        if self.contacts and self.rng.random() < 0.03:
            return self.rng.choice(self.contacts)
        contact = f"@demo_requester_{number:06d}"
        self.contacts.append(contact)
        return contact

    def _record(self, month: date, category: str) -> RequestRecord:
        days = calendar.monthrange(month.year, month.month)[1]
        received_at = datetime(
            month.year, month.month, self.rng.randint(1, days), tzinfo=UTC
        ) + timedelta(seconds=self.rng.randint(0, 86_399))
        deserter = category != Category.CONSULTATION
        number = len(self.references) + 1
        record = RequestRecord(
            reference=self._reference(),
            received_at=received_at,
            channel=self._pick(CHANNELS),
            category=category,
            service_status=self._pick(DESERTER_STATUS if deserter else CONSULTATION_STATUS),
            location=self._pick(DESERTER_LOCATION if deserter else CONSULTATION_LOCATION),
            urgency=self._pick(DESERTER_URGENCY if deserter else CONSULTATION_URGENCY),
            legal_articles=self._articles(category),
            language="ru" if self.rng.random() < 0.93 else "en",
            contact=self._contact(number),
            # Optional on the form and often left empty (an empty field is
            # also one value fewer to encrypt while seeding).
            alias=f"Демо {number}" if self.rng.random() < 0.35 else "",
            narrative=self.rng.choice(NARRATIVES) + f" #{number}",
            precise_location="[DEMO] нигде" if self.rng.random() < 0.15 else "",
            unit="[DEMO] в/ч 00000" if deserter else "",
        )
        self._set_case(record, deserter)
        return record

    def _articles(self, category: str) -> list[str]:
        chances = {
            Category.DESERTION: {"338": 0.7, "337": 0.6, "332": 0.15},
            Category.BORDER_CROSSING: {"338": 0.4, "337": 0.3, "332": 0.05},
            Category.CONSULTATION: {"338": 0.03, "337": 0.1, "332": 0.05},
        }[category]
        return sorted(code for code, chance in chances.items() if self.rng.random() < chance)

    def _set_case(self, record: RequestRecord, deserter: bool) -> None:
        age = self.now - record.received_at
        roll = self.rng.random()
        if age < timedelta(days=60) and roll < 0.6:
            # Recent requests are still being worked on, in every open state.
            record.state = self.rng.choice(
                [CaseState.NEW, CaseState.TRIAGED, CaseState.IN_PROGRESS, CaseState.WAITING]
            )
            return
        if roll > 0.95:
            record.state = CaseState.REJECTED
            record.resolved_at = None
            return
        record.outcome = self._pick(DESERTER_OUTCOME if deserter else CONSULTATION_OUTCOME)
        resolved_at = record.received_at + timedelta(
            days=self.rng.randint(1, 45), seconds=self.rng.randint(0, 86_399)
        )
        record.resolved_at = min(resolved_at, self.now)
        # A resolution is confirmed and closed after two weeks.
        recently = self.now - record.resolved_at < timedelta(days=14)
        record.state = CaseState.RESOLVED if recently else CaseState.CLOSED

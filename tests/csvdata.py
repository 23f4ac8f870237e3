"""Builders for import CSV files used by several test modules."""

import csv
from pathlib import Path

from intake.importing import COLUMNS


def csv_row(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "reference": f"HIST-{n:06d}",
        "received_at": f"2024-01-{(n % 28) + 1:02d}T10:00:00",
        "channel": "telegram",
        "category": "desertion",
        "service_status": "contract_wartime",
        "location": "front_line",
        "urgency": "high",
        "legal_articles": "337;338",
        "state": "closed",
        "outcome": "left_country",
        "resolved_at": "2024-02-15",
        "contact": f"+7 900 555-{n:04d}",
        "narrative": f"Secret story {n:06d}: wants to leave unit 12345",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns=COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path

"""Helpers for submitting requests through the public form in tests."""

import re

VALID = {
    "category": "desertion",
    "service_status": "contract_wartime",
    "location": "front_line",
    "urgency": "critical",
    "legal_articles": ["338"],
    "contact": "@form_contact_9001",
    "alias": "Ivan (not his name)",
    "narrative": "They are sending us back next week and I cannot go.",
}


def form_data(**overrides) -> dict:
    return {**VALID, **overrides}


def receipt_of(response) -> str:
    match = re.search(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>", response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def submit(client, **overrides) -> str:
    response = client.post("/", form_data(**overrides))
    assert response.status_code == 200, response.content.decode()[:2000]
    return receipt_of(response)

"""
The OpenAPI 3.1 description of the intake API, built from the form's own
choices and limits. An outside checker (schemathesis, tests/test_api_schema.py)
holds the server to it: every value the document allows is accepted, every
value it forbids is refused.
"""

import sys
from functools import cache

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from intake.forms import (
    ARTICLE_CHOICES,
    CATEGORY_CHOICES,
    LOCATION_CHOICES,
    MAX_ALIAS,
    MAX_CONTACT,
    MAX_NARRATIVE,
    SERVICE_CHOICES,
    URGENCY_CHOICES,
)
from intake.vocabulary import Language


@cache
def _whitespace() -> str:
    """Python's white space (str.isspace), which the form trims, as a regex class body."""
    return "".join(f"\\u{code:04x}" for code in range(sys.maxunicode + 1) if chr(code).isspace())


# Patterns are ECMA-262 regular expressions, as JSON Schema reads them; every
# character is spelled as an escape, so every reader agrees on what it means.
NO_NUL = "^[^\\u0000]*$"


TEXT_RULES = (
    " Counted and checked as sent; white space around the text is trimmed before it is"
    " stored. Refused: NUL (U+0000) and unpaired surrogate escapes such as \\ud800."
)


def _text(max_length: int, description: str) -> dict:
    return {
        "type": "string",
        "maxLength": max_length,
        "pattern": NO_NUL,
        "description": description + TEXT_RULES,
    }


def _narrative() -> dict:
    # Maybe white space, then a character that is neither white space nor NUL
    # (text that is only white space is empty once trimmed), then no NUL.
    space = _whitespace()
    return {
        **_text(MAX_NARRATIVE, "Their situation, in their words; not only white space."),
        "minLength": 1,
        "pattern": f"^[{space}]*[^\\u0000{space}][^\\u0000]*$",
    }


def _enum(choices, description: str) -> dict:
    return {
        "type": "string",
        "enum": [str(value) for value, _label in choices],
        "description": description,
    }


EXAMPLE = {
    "category": "desertion",
    "service_status": "mobilised",
    "location": "front_line",
    "urgency": "high",
    "legal_articles": ["338"],
    "contact": "@someone",
    "narrative": "They are sending us back to the front next week.",
    "language": "en",
}


def schema() -> dict:
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    new_request = {
        "type": "object",
        "additionalProperties": False,
        "required": ["category", "service_status", "location", "urgency", "narrative"],
        "properties": {
            "category": _enum(CATEGORY_CHOICES, "What the person needs help with."),
            "service_status": _enum(SERVICE_CHOICES, "Their service."),
            "location": _enum(LOCATION_CHOICES, "Where they are, coarsely."),
            "urgency": _enum(URGENCY_CHOICES, "How urgent it is."),
            "legal_articles": {
                "type": "array",
                "items": _enum(ARTICLE_CHOICES, "Article of the Russian Criminal Code."),
                "uniqueItems": True,
                "description": "Charges they fear; may be empty; each article at most once.",
            },
            "narrative": _narrative(),
            "contact": _text(MAX_CONTACT, "Optional: how to reach them."),
            "alias": _text(MAX_ALIAS, "Optional: what to call them, never a real name."),
            "language": _enum(Language.choices, "Language to answer in (default ru)."),
            "attachments": {
                "type": "array",
                "maxItems": settings.ATTACHMENT_MAX_FILES,
                "items": {
                    "type": "string",
                    "format": "byte",
                    "description": (
                        "One file in base64 (RFC 4648, padded): a photo (JPEG, PNG, WebP, "
                        "HEIC) or a PDF. The kind is read from the bytes. A clean copy is "
                        "stored (no metadata; PDF pages as images), never the file."
                    ),
                },
                "description": (
                    "Optional photos or documents: at most ATTACHMENT_MAX_FILES files, each "
                    "at most ATTACHMENT_MAX_BYTES, ATTACHMENT_MAX_TOTAL in all (before "
                    "base64). Too many, too large, or a file that is not an accepted kind or "
                    "does not open: 400, with errors.attachments naming each file by its "
                    "position, and nothing stored."
                ),
            },
        },
    }
    created = {
        "type": "object",
        "required": ["reference", "receipt_code"],
        "properties": {
            "reference": {"type": "string", "examples": ["GL-7K3M-Q9TX"]},
            "receipt_code": {
                "type": "string",
                "description": (
                    "Give this to the person, once: it is not stored and cannot be shown again."
                ),
                "examples": ["K3M9-Q9TX-7K3M-A1B2-C3D4"],
            },
        },
    }

    def answer(description: str, body: dict) -> dict:
        return {"description": description, "content": {"application/json": {"schema": body}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tropa intake API",
            "version": "1",
            "description": "Help requests from the organisation's messaging bots.",
        },
        "paths": {
            "/api/v1/requests": {
                "post": {
                    "summary": "Submit a help request",
                    "operationId": "createRequest",
                    "security": [{"botToken": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": (
                                "Optional, recommended: a random key per request (a UUID). A "
                                "retry with the same key and body within a day gets the same "
                                "reference and receipt code (with Idempotent-Replayed: true) "
                                "instead of storing a second request."
                            ),
                            "schema": {"type": "string", "pattern": "^[!-~]{16,255}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": new_request, "example": EXAMPLE}
                        },
                    },
                    "responses": {
                        "201": answer("Stored; the case is open in the triage queue.", created),
                        "400": answer("Bad JSON or field values; nothing stored.", error),
                        "401": answer("Missing, unknown or revoked bot token.", error),
                        "409": answer(
                            "The Idempotency-Key was used for a different request; nothing stored.",
                            error,
                        ),
                        "413": answer("Body too large.", error),
                        "415": answer("Body is not application/json.", error),
                        "429": answer("Too many requests right now; nothing stored.", error),
                        "503": answer(
                            "Not accepting requests yet (no caseworker has created the "
                            "organisation key), or the request could not be encrypted; "
                            "nothing stored.",
                            error,
                        ),
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {
                "botToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token made by an admin at /staff/bots/.",
                }
            }
        },
    }


@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(schema(), json_dumps_params={"indent": 2})

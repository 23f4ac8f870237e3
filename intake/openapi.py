"""The OpenAPI 3.1 description of the intake API, built from the form's own choices."""

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


def _enum(choices, description: str) -> dict:
    return {
        "type": "string",
        "enum": [str(value) for value, _label in choices],
        "description": description,
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
                "description": "Charges they fear; may be empty.",
            },
            "narrative": {"type": "string", "minLength": 1, "maxLength": MAX_NARRATIVE},
            "contact": {"type": "string", "maxLength": MAX_CONTACT, "description": "Optional."},
            "alias": {"type": "string", "maxLength": MAX_ALIAS, "description": "Optional."},
            "language": _enum(Language.choices, "Language to answer in (default ru)."),
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
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": new_request}},
                    },
                    "responses": {
                        "201": answer("Stored; the case is open in the triage queue.", created),
                        "400": answer("Bad JSON or field values; nothing stored.", error),
                        "401": answer("Missing, unknown or revoked bot token.", error),
                        "413": answer("Body too large.", error),
                        "415": answer("Body is not application/json.", error),
                        "429": answer("Too many requests right now; nothing stored.", error),
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

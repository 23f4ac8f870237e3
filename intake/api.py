"""
The intake API for the organisation's messaging bots.

`POST /api/v1/requests` with `Authorization: Bearer <token>` and a JSON body of
the form's fields (and, optionally, `attachments`: files in base64, cleaned
and limited as on the form) answers 201 with the reference and the receipt code, which
the bot passes on to the person. Errors are JSON: 400 with field errors, 401
for a missing or revoked token, 405, 413, 415, 429; never a 500 for bad input.
Messages are in English: bots are built by developers.
"""

import base64
import binascii
import json
import logging
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from core.ratelimit import Rate, count
from encryption.sealing import NoOrganisationKey, SealingFailed
from intake import receipts
from intake.attachments.services import AttachmentsRefused, clean_uploads
from intake.forms import ApiRequestForm
from intake.models import BotToken
from intake.services import (
    HoldingFull,
    RetryKeyReused,
    bot_for_token,
    earlier_submission,
    count_bot_use,
    submit_once,
    submit_request,
)
from intake.views import record_from
from intake.vocabulary import Language

logger = logging.getLogger(__name__)

SCALAR_FIELDS = (
    "category",
    "service_status",
    "location",
    "urgency",
    "contact",
    "alias",
    "narrative",
    "language",
)
LIST_FIELDS = ("legal_articles",)
# Files, each in base64 (RFC 4648, with padding), cleaned like the form's.
ATTACHMENTS = "attachments"
# A retry of one request carries the same key (a UUID is a good one); random
# enough that nobody else can guess it, which is why short ones are refused.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{16,255}")


def _cleaned_attachments(encoded: list[str]) -> list:
    """The files of a bot's request, decoded and cleaned (AttachmentsRefused otherwise)."""
    files, problems = [], []
    for position, text in enumerate(encoded, 1):
        try:
            files.append(base64.b64decode(text, validate=True))
        except (ValueError, binascii.Error):
            problems.append(f"File {position} is not valid base64.")
    if problems:
        raise AttachmentsRefused(problems)
    return clean_uploads(files)


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _bearer(request: HttpRequest) -> str:
    scheme, _space, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _shape_errors(body: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in body:
        if name not in SCALAR_FIELDS + LIST_FIELDS + (ATTACHMENTS,):
            errors[name] = ["Unknown field."]
    files = body.get(ATTACHMENTS, [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        errors[ATTACHMENTS] = ["Must be a list of base64 strings."]
    for name in SCALAR_FIELDS:
        if name in body and not isinstance(body[name], str):
            errors[name] = ["Must be a string."]
    for name in LIST_FIELDS:
        value = body.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors[name] = ["Must be a list of strings."]
    return errors


@csrf_exempt
@never_cache
@sensitive_post_parameters()
def create_request(request: HttpRequest) -> JsonResponse:
    with translation.override("en"):
        return _create_request(request)


def _create_request(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    bot = bot_for_token(_bearer(request))
    if bot is None:
        response = _error(401, "A valid bot token is required: Authorization: Bearer <token>.")
        response["WWW-Authenticate"] = 'Bearer realm="intake"'
        return response
    response = _stored_or_refused(request, bot)
    if response.status_code != 201:
        # Counted for the hour, like the stored ones: an audit entry now would
        # date the refusal, and with it the corrected resend (core.clock).
        count_bot_use(bot, refused=True)
    return response


def _stored_or_refused(request: HttpRequest, bot: BotToken) -> JsonResponse:
    if request.content_type != "application/json":
        return _error(415, "Send the body as application/json.")
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        return _error(413, "The body is too large.")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack ("[[[[...").
        return _error(400, "The body is not valid JSON.")
    if not isinstance(body, dict):
        return _error(400, "The body must be a JSON object.")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        return _error(400, "Idempotency-Key must be 16 to 255 visible ASCII characters.")
    errors = _shape_errors(body)
    form = ApiRequestForm(data=body) if not errors else None
    if form is not None and not form.is_valid():
        errors = {
            field: [e["message"] for e in items]
            for field, items in form.errors.get_json_data().items()
        }
    if errors:
        return _error(400, "Some fields are not valid.", errors=errors)
    try:
        # A retry's files were cleaned the first time: not again.
        replay = (
            earlier_submission(bot, key, request.body) if key and body.get(ATTACHMENTS) else None
        )
        attachments = [] if replay else _cleaned_attachments(body.get(ATTACHMENTS, []))
    except RetryKeyReused:
        return _error(409, "This Idempotency-Key was used for a different request.")
    except AttachmentsRefused as refused:
        return _error(400, "Some attachments were refused.", errors={ATTACHMENTS: refused.messages})
    # Over the global ceiling the request is still taken, and held (as on the form).
    counted = count(request, "intake", None, Rate.parse(settings.INTAKE_GLOBAL_LIMIT))
    language = form.cleaned_data["language"] or Language.RUSSIAN
    record = record_from(form.cleaned_data, channel=bot.channel, language=language)
    key = request.headers.get("Idempotency-Key")
    try:
        if key is None:
            submission = submit_request(record, hold=counted.over_ceiling, attachments=attachments)
            replayed = False
        else:
            submission, replayed = submit_once(
                record,
                hold=counted.over_ceiling,
                bot=bot,
                key=key,
                body=request.body,
                attachments=attachments,
            )
    except RetryKeyReused:
        return _error(409, "This Idempotency-Key was used for a different request.")
    except HoldingFull:
        return _error(429, "Too many requests right now; try again later.")
    except NoOrganisationKey:
        return _error(503, "Not accepting requests yet: the installation has no caseworker.")
    except SealingFailed as failure:
        # No fallback: nothing was stored; the bot keeps the text and retries.
        logger.error("a bot's request was refused, nothing stored: %s", failure)
        response = _error(503, "Could not encrypt the request; nothing was stored. Retry later.")
        response["Retry-After"] = "300"
        return response
    reference = submission.help_request.reference
    if not replayed:
        # Counted for the hour, audited when the hour is over: an audit entry now
        # would give the request an exact time (core.clock).
        count_bot_use(bot)
    response = JsonResponse(
        {"reference": reference, "receipt_code": receipts.formatted(submission.receipt_code)},
        status=201,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response

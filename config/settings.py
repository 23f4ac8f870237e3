"""
Settings for the intake and case-tracking system.

Every value that differs between machines comes from the environment, read
once here (see the configuration table in README.md). The defaults are the
embedded development set-up: SQLite, Celery tasks run in-process, local-memory
cache. With DEBUG off the development keys are refused, so a server can never
run on keys that are published in this repository.
"""

import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from audit import checkpoint_store

BASE_DIR = Path(__file__).resolve().parent.parent

# Published in the repository on purpose: usable only with DEBUG on.
DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-never-use-in-production-0000000000000000"  # noqa: S105
DEVELOPMENT_ENCRYPTION_KEY = "dev-only-encryption-key-never-use-in-production-00000000000"
MINIMUM_KEY_LENGTH = 32


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def _env_size(name: str) -> int | None:
    """A size such as 2GB or 500MB (units of 1024), or None when unset. A bare
    number is refused: it could be read as bytes or as a count of things."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?b)", raw.lower())
    if not match:
        raise ImproperlyConfigured(
            f"{name} must be a size such as 2GB or 500MB, not {raw!r}"
            " (it is no longer a number of requests)."
        )
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2)])


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _env_duration(name: str, default: str) -> int:
    """A duration such as 2h, 90m, 1d or 30s, in seconds."""
    raw = os.environ.get(name, "").strip().lower() or default
    match = re.fullmatch(r"(\d+)\s*([smhd])", raw)
    if not match:
        raise ImproperlyConfigured(f"{name} must be a duration such as 2h or 90m, not {raw!r}.")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


DEBUG = _env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
ENCRYPTION_KEY = os.environ.get("ENCRYPTION_KEY") or DEVELOPMENT_ENCRYPTION_KEY
ENCRYPTION_OLD_KEYS = _env_list("ENCRYPTION_OLD_KEYS")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
# Origins (scheme://host) trusted for form posts besides our own, e.g. the
# onion address of the public form: "http://<name>.onion" (docs/onion-service.md).
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS")
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
RETENTION_DAYS = _env_int("RETENTION_DAYS", 90)
# The smallest count any report page, sentence, chart, download or export
# publishes: counts from 1 to MIN_PUBLISHED_CELL - 1 are withheld (reports/).
# An export may ask for a larger one, never a smaller one.
MIN_PUBLISHED_CELL = _env_int("MIN_PUBLISHED_CELL", 10)
if MIN_PUBLISHED_CELL < 2:
    raise ImproperlyConfigured(
        f"MIN_PUBLISHED_CELL must be 2 or more (10 is the default), got {MIN_PUBLISHED_CELL}."
    )
INTAKE_RATE_LIMIT = os.environ.get("INTAKE_RATE_LIMIT", "10/h").strip() or "10/h"
# A ceiling over all senders together: past it, submissions are still stored
# and given receipts, but held out of the triage queue (a flood must neither
# bury staff nor lock real requesters out), until held requests take
# INTAKE_HOLD_LIMIT bytes, which protects the disk; only then is a submission
# refused (429, with what was typed kept). Unset: a day of floods at the global
# ceiling's rate, each request at its longest (intake.services.hold_limit).
INTAKE_GLOBAL_LIMIT = os.environ.get("INTAKE_GLOBAL_LIMIT", "600/h").strip()
INTAKE_HOLD_LIMIT = _env_size("INTAKE_HOLD_LIMIT")
# Receipt-code lookups: failed ones are counted per sender (an address, or a
# Tor circuit on the onion) and overall; a right code always opens its request.
# The overall window is short, so a flood of wrong codes shuts nobody out for long.
STATUS_RATE_LIMIT = os.environ.get("STATUS_RATE_LIMIT", "30/h").strip()
STATUS_GLOBAL_LIMIT = os.environ.get("STATUS_GLOBAL_LIMIT", "250/5m").strip()
# Messages from requesters, per request: in any 24 hours, and in all.
REQUESTER_MESSAGES_PER_DAY = _env_int("REQUESTER_MESSAGES_PER_DAY", 20)
REQUESTER_MESSAGES_IN_ALL = _env_int("REQUESTER_MESSAGES_IN_ALL", 300)
# Behind a reverse proxy every client arrives from 127.0.0.1; the proxy names
# the client in a header (e.g. HTTP_X_REAL_IP), used only for rate limiting.
INTAKE_ADDRESS_HEADER = os.environ.get("INTAKE_ADDRESS_HEADER", "").strip()
# Where "a new request arrived" goes (no content, ever); empty sends nothing.
INTAKE_NOTIFY_EMAIL = os.environ.get("INTAKE_NOTIFY_EMAIL", "").strip()
STAFF_URL = os.environ.get("STAFF_URL", "").strip()
# The caseworker's day: a case waiting for the requester longer than this many
# days is flagged and shows as due; each caseworker's digest of due cases is
# mailed at this hour (in TIME_ZONE).
WAITING_FLAG_DAYS = _env_int("WAITING_FLAG_DAYS", 7)
FOLLOW_UP_DIGEST_HOUR = _env_int("FOLLOW_UP_DIGEST_HOUR", 7)
# A critical or high request nobody has triaged for this long is escalated:
# flagged in the queue, counted in the menu and in every caseworker's digest.
ESCALATE_CRITICAL_AFTER = _env_duration("ESCALATE_CRITICAL_AFTER", "2h")
ESCALATE_HIGH_AFTER = _env_duration("ESCALATE_HIGH_AFTER", "24h")
# A case page shows the newest notes and messages this many at a time (older
# ones on request, up to CASE_TIMELINE_MOST), and the status page the newest
# REQUESTER_THREAD_PAGE messages: a thread of thousands stays one small page.
CASE_TIMELINE_PAGE = _env_int("CASE_TIMELINE_PAGE", 100)
CASE_TIMELINE_MOST = _env_int("CASE_TIMELINE_MOST", 2000)
REQUESTER_THREAD_PAGE = _env_int("REQUESTER_THREAD_PAGE", 30)
# Attachments (intake/attachments/): a file over ATTACHMENT_MAX_BYTES is refused
# before it is decoded; an image or rendered page over ATTACHMENT_MAX_PIXELS and
# a PDF over ATTACHMENT_MAX_PAGES pages are refused. The child process that
# decodes a file gets ATTACHMENT_CLEAN_SECONDS of wall clock (and as much CPU
# time) and ATTACHMENT_CLEAN_MEMORY of address space.
ATTACHMENT_MAX_BYTES = _env_size("ATTACHMENT_MAX_BYTES") or 10 * 1024**2
ATTACHMENT_MAX_PIXELS = _env_int("ATTACHMENT_MAX_PIXELS", 40_000_000)
ATTACHMENT_MAX_PAGES = _env_int("ATTACHMENT_MAX_PAGES", 30)
ATTACHMENT_CLEAN_SECONDS = _env_int("ATTACHMENT_CLEAN_SECONDS", 20)
ATTACHMENT_CLEAN_MEMORY = _env_size("ATTACHMENT_CLEAN_MEMORY") or 1024**3
if not 0 <= FOLLOW_UP_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured(
        f"FOLLOW_UP_DIGEST_HOUR must be an hour from 0 to 23, got {FOLLOW_UP_DIGEST_HOUR}."
    )
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# Signed audit checkpoints (docs/audit-checkpoints.md): the Ed25519 private
# key's file (never in the database; made by `make_audit_signing_key`), the
# public keys a verifier trusts (comma-separated), how often the chain's head is
# signed (whole hours that divide a day: checkpoints carry the hour only), and
# the folder of the "audit_checkpoints" storage (a bucket in production).
AUDIT_SIGNING_KEY_FILE = os.environ.get("AUDIT_SIGNING_KEY_FILE", "").strip()
AUDIT_CHECKPOINT_PUBLIC_KEYS = _env_list("AUDIT_CHECKPOINT_PUBLIC_KEYS")
_interval = os.environ.get("AUDIT_CHECKPOINT_INTERVAL", "").strip().lower() or "1h"
_interval_match = re.fullmatch(r"(\d+)h", _interval)
if not _interval_match or int(_interval_match[1]) not in (1, 2, 3, 4, 6, 8, 12, 24):
    raise ImproperlyConfigured(
        f"AUDIT_CHECKPOINT_INTERVAL must be 1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h, not {_interval!r}."
    )
AUDIT_CHECKPOINT_HOURS = int(_interval_match[1])
AUDIT_CHECKPOINT_DIR = os.environ.get("AUDIT_CHECKPOINT_DIR", "").strip() or str(
    BASE_DIR / "audit-checkpoints"
)
# Empty: the folder above. s3://BUCKET/PREFIX?endpoint=…&retain_days=…: a bucket
# with object lock, through django-storages (the s3 extra; audit/checkpoint_store.py).
AUDIT_CHECKPOINT_STORE = os.environ.get("AUDIT_CHECKPOINT_STORE", "").strip()
# Backups (`manage.py backup`, `restore_check`): the age public keys they are
# encrypted to (one a line; the identities stay offline) and where they go.
BACKUP_RECIPIENTS_FILE = os.environ.get("BACKUP_RECIPIENTS_FILE", "").strip()
BACKUP_DIR = os.environ.get("BACKUP_DIR", "").strip() or str(BASE_DIR / "backup-files")
# Attachments (issue 24): how many files one request or message may carry and
# how large in all (each file's own limit is ATTACHMENT_MAX_BYTES, with the
# cleaning settings), and where their sealed objects are kept by default
# (STORAGES["attachments"]; docs/deployment.md for an S3-compatible bucket).
ATTACHMENT_MAX_FILES = _env_int("ATTACHMENT_MAX_FILES", 5)
ATTACHMENT_MAX_TOTAL = _env_size("ATTACHMENT_MAX_TOTAL") or 25 * 1024**2
ATTACHMENT_DIR = os.environ.get("ATTACHMENT_DIR", "").strip() or str(BASE_DIR / "attachment-files")
STAFF_SESSION_IDLE_MINUTES = _env_int("STAFF_SESSION_IDLE_MINUTES", 30)
# How long a confirmation page's one-time token is good for (core/confirmation.py).
CONFIRMATION_SECONDS = 600
# How long a form's typed text is kept, sealed, when the session ended under it
# (encryption.drafts): time enough to sign in again with both factors.
DRAFT_KEEP_MINUTES = 30
# POSTs to the staff password and code steps per source (whatever the account).
SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "60/h").strip()

# The public site's name, on every page and in the browser's history: the
# organisation's, or a neutral default (core.context_processors).
SITE_NAME = os.environ.get("SITE_NAME", "").strip()
# The organisation's own line for someone in danger right now (how fast it
# answers, what to do meanwhile), shown beside the urgency question, on the
# receipt of such a request and in the bot; empty: a neutral default.
URGENT_HELP_TEXT = os.environ.get("URGENT_HELP_TEXT", "").strip()

# The Telegram bot (manage.py run_telegram_bot, README "Telegram bot"). Without
# a token there is no bot; the token is a secret like SECRET_KEY.
TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
# The Bot API server: Telegram's own, or a local Bot API server (and the fake
# one the tests start).
TELEGRAM_API_URL = (
    os.environ.get("TELEGRAM_API_URL", "").strip() or "https://api.telegram.org"
).rstrip("/")
# Webhook mode: the public https address Telegram posts updates to, and the
# secret it sends back in X-Telegram-Bot-Api-Secret-Token. Empty: long polling.
TELEGRAM_WEBHOOK_URL = os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip()
TELEGRAM_WEBHOOK_SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
# Where the webhook mode listens, behind the TLS reverse proxy.
TELEGRAM_WEBHOOK_LISTEN = os.environ.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "127.0.0.1:8081"
# Updates one chat may send before the bot asks it to slow down.
TELEGRAM_FLOOD_LIMIT = os.environ.get("TELEGRAM_FLOOD_LIMIT", "30/m").strip()
# Seconds to wait for an answer from the Bot API before retrying.
TELEGRAM_REQUEST_TIMEOUT = _env_int("TELEGRAM_REQUEST_TIMEOUT", 30)


for _name in (
    "INTAKE_RATE_LIMIT",
    "INTAKE_GLOBAL_LIMIT",
    "STATUS_RATE_LIMIT",
    "STATUS_GLOBAL_LIMIT",
    "SIGN_IN_RATE_LIMIT",
    "TELEGRAM_FLOOD_LIMIT",
):
    if not re.fullmatch(r"0|off|(\d+\s*/\s*\d*\s*[smhd])", globals()[_name].lower() or "0"):
        raise ImproperlyConfigured(
            f"{_name} must be a rate such as 10/h (per s, m, h or d) or 0 for no limit, "
            f"not {globals()[_name]!r}."
        )


if TELEGRAM_WEBHOOK_URL:
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", TELEGRAM_WEBHOOK_URL):
        raise ImproperlyConfigured(
            "TELEGRAM_WEBHOOK_URL must be an address such as https://tropa.example.org/telegram/"
            "<random path>, without a query string."
        )
    # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -.
    if not re.fullmatch(r"[A-Za-z0-9_-]{32,256}", TELEGRAM_WEBHOOK_SECRET):
        raise ImproperlyConfigured(
            "TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET: 32 to 256 letters, digits, _ "
            "or -. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
if not re.fullmatch(r"[^\s:]+:\d{1,5}", TELEGRAM_WEBHOOK_LISTEN):
    raise ImproperlyConfigured(
        f"TELEGRAM_WEBHOOK_LISTEN must be host:port, e.g. 127.0.0.1:8081, "
        f"not {TELEGRAM_WEBHOOK_LISTEN!r}."
    )


def _refuse_development_keys() -> None:
    """Stop a production start on keys that anyone can read in the repository."""
    generate = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    problems = []
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        problems.append("SECRET_KEY is the development key: set SECRET_KEY")
    if ENCRYPTION_KEY == DEVELOPMENT_ENCRYPTION_KEY:
        problems.append("ENCRYPTION_KEY is the development key: set ENCRYPTION_KEY")
    if SECRET_KEY == ENCRYPTION_KEY:
        problems.append("SECRET_KEY and ENCRYPTION_KEY are equal: they must be different keys")
    for name, value in (("SECRET_KEY", SECRET_KEY), ("ENCRYPTION_KEY", ENCRYPTION_KEY)):
        if len(value) < MINIMUM_KEY_LENGTH:
            problems.append(f"{name} is shorter than {MINIMUM_KEY_LENGTH} characters")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off: "
            + "; ".join(problems)
            + f". Generate each key with: {generate}"
        )


if not DEBUG:
    _refuse_development_keys()

INSTALLED_APPS = [
    "csp",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # The device models are our own (accounts.models): TOTP secrets encrypted,
    # backup codes hashed. django-otp's plugins stored both in clear.
    "django_otp",
    # Passkeys and security keys (WebAuthn) as a second factor: its credential
    # model and its verification; the views staff reach are ours (accounts.webauthn).
    "django_otp_webauthn",
    "core",
    "encryption",
    "audit",
    "accounts",
    "intake",
    "cases",
    "reports",
    "telegram_bot",
    "backups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.BrowserPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.SiteLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "encryption.session.ContentKeyCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.LockdownMiddleware",
    "accounts.middleware.PasskeyPolicyMiddleware",
    "core.middleware.RefuseNullCharactersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.staff",
                "cases.context_processors.caseworker_counts",
                "core.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Single-file database for a newcomer's machine: wait for a busy writer
    # rather than fail, and never keep a connection across threads.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tropa",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Russian first: the public form never follows Accept-Language (Tor Browser
# always sends en-US), only the visitor's own choice of language.
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date style per language: "9 December 2026" beside «9 декабря 2026 г.» (core/dates.py).
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development servers (runserver or gunicorn with DEBUG on) serve static files
# straight from the source folders; production serves the collected ones.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Where signed audit checkpoints are written, never overwritten. In
    # production an S3-compatible bucket with object lock (docs/audit-checkpoints.md).
    "audit_checkpoints": checkpoint_store.storage_settings(
        AUDIT_CHECKPOINT_STORE, AUDIT_CHECKPOINT_DIR
    ),
    # Sealed attachment objects: ciphertext only, under random names
    # (intake.attachments.services), so this storage may be untrusted.
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": ATTACHMENT_DIR,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Field encryption: our wrapper (encryption/fields.py) derives its keys from
# ENCRYPTION_KEY. django-cryptography would otherwise fall back to SECRET_KEY
# for its own default key, which must never protect stored data.
CRYPTOGRAPHY_KEY = ENCRYPTION_KEY
CRYPTOGRAPHY_SALT = "tropa-field-encryption"

# Content keys (docs/encryption.md): Argon2id cost of the key that wraps each
# caseworker's private key under their password (about 170 ms on one core), and
# how many requests a caseworker's page fingerprints or re-seals in passing.
CONTENT_KEY_KDF = {"passes": 2, "memory_kib": 46 * 1024, "lanes": 1}
CONTENT_BACKLOG_BATCH = _env_int("CONTENT_BACKLOG_BATCH", 100)

# Celery: with no REDIS_URL every task runs in-process, so a newcomer needs no
# broker. Task arguments are ids and months only; results hold no content.
# The in-memory broker is named with a host: eager tasks still take a producer
# from the pool, and kombu warns on a console for a broker URL without one.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task taken by a worker that dies before acknowledging it (acks_late) goes
# back to the queue once this many seconds have passed (Redis transport checks
# when a worker starts and about every 100 s after). Longer than any task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Notifications that could not be queued when their request arrived.
    "notify-pending-cases": {"task": "intake.notify_pending_cases", "schedule": 300.0},
    # The month that just ended, on the 1st (in TIME_ZONE), then every night the
    # month so far.
    "report-previous-month": {
        "task": "reports.generate_previous_month",
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
    },
    "report-current-month": {
        "task": "reports.refresh_current_month",
        "schedule": crontab(minute=0, hour=3),
    },
    # Expired sessions would keep a timeline of who was signed in, and when.
    "clear-expired-sessions": {
        "task": "core.clear_expired_sessions",
        "schedule": crontab(minute=15, hour=3),
    },
    # Bots' requests per finished hour, as counts, to the audit log.
    "bot-usage-audit": {"task": "intake.audit_bot_usage", "schedule": crontab(minute=7)},
    # Content of cases finished more than RETENTION_DAYS ago is erased daily.
    "retention-purge": {
        "task": "cases.purge_expired",
        "schedule": crontab(minute=30, hour=3),
    },
    # Then the tables the purge (or a key rotation) left old values in are
    # rewritten, each locked while it is copied: at night, before the backup.
    "rewrite-tables": {
        "task": "core.rewrite_tables",
        "schedule": crontab(minute=0, hour=4),
    },
    # The audit chain: every night the day's entries (from the last intact
    # check), every Sunday every entry from the first.
    "audit-verify-chain": {
        "task": "audit.verify_chain",
        "schedule": crontab(minute=30, hour=4),
    },
    # Each caseworker's due and overdue cases (counts and references only).
    "follow-up-digest": {
        "task": "cases.send_follow_up_digests",
        "schedule": crontab(minute=0, hour=FOLLOW_UP_DIGEST_HOUR),
    },
    # The audit chain's head, signed and delivered off the database; the
    # checkpoints not yet mailed go to every admin once a day.
    "audit-checkpoint": {
        "task": "audit.make_checkpoint",
        "schedule": crontab(minute=0, hour=f"*/{AUDIT_CHECKPOINT_HOURS}"),
    },
    "audit-checkpoint-retry": {"task": "audit.deliver_checkpoints", "schedule": 600.0},
    "audit-checkpoint-mail": {
        "task": "audit.mail_checkpoints",
        "schedule": crontab(minute=5, hour=FOLLOW_UP_DIGEST_HOUR),
    },
    "audit-verify-chain-from-start": {
        "task": "audit.verify_chain_from_start",
        "schedule": crontab(minute=0, hour=5, day_of_week=0),
    },
}

# Outgoing mail (notifications only). Without EMAIL_HOST a development machine
# prints mail to the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_PORT = _env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tropa@localhost")
if not EMAIL_HOST and DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_SUBJECT_PREFIX = ""

# Staff sign-in: one door (/staff/login/), a second factor for everyone, and
# locks after repeated wrong passwords or codes (accounts/throttle.py): one
# source is refused for one account after SIGN_IN_FAILURE_LIMIT failures; the
# account as a whole after SIGN_IN_ACCOUNT_FAILURE_LIMIT failures from
# everywhere within a day, except in a browser that signed in to it before.
LOGIN_URL = "/staff/login/"
SIGN_IN_FAILURE_LIMIT = 5
SIGN_IN_ACCOUNT_FAILURE_LIMIT = 50
SIGN_IN_LOCK_MINUTES = 15
# A browser that passed both steps is recognised at the password step for this
# long (a signed cookie naming the account, nothing else).
SIGN_IN_KNOWN_BROWSER_DAYS = 30
# The label an authenticator app shows: neutral, since phones get searched.
OTP_TOTP_ISSUER = "Tropa"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1


# Passkeys and security keys (WebAuthn; accounts/webauthn.py). A credential is
# bound to the relying party id (a host name) and every assertion names the
# origin the browser was on: one not listed here is refused, which is what
# defeats a phishing page relaying a sign-in. By default the first allowed host
# that is not an onion address, over https.
def _webauthn_rp_id() -> str:
    for host in ALLOWED_HOSTS:
        name = host.lstrip(".")
        if name and name != "*" and not name.endswith(".onion"):
            return name
    return "localhost"


WEBAUTHN_RP_ID = os.environ.get("WEBAUTHN_RP_ID", "").strip() or _webauthn_rp_id()
WEBAUTHN_ORIGINS = _env_list("WEBAUTHN_ORIGINS", f"https://{WEBAUTHN_RP_ID}")
# Roles whose sign-in needs a passkey or security key (TOTP alone is not
# enough; backup codes still are). A setting, not a page: an admin session
# that is stolen cannot switch it off (docs/deployment.md).
WEBAUTHN_REQUIRED_ROLES = _env_list("WEBAUTHN_REQUIRED_ROLES")
# Hosts (the staff onion address) where the policy gives way to TOTP: Tor
# Browser disables WebAuthn. Default: every .onion name in ALLOWED_HOSTS.
WEBAUTHN_EXEMPT_HOSTS = _env_list(
    "WEBAUTHN_EXEMPT_HOSTS", ",".join(h for h in ALLOWED_HOSTS if h.endswith(".onion"))
)
OTP_WEBAUTHN_RP_ID = WEBAUTHN_RP_ID
OTP_WEBAUTHN_RP_NAME = "Tropa"
OTP_WEBAUTHN_ALLOWED_ORIGINS = WEBAUTHN_ORIGINS
OTP_WEBAUTHN_HELPER_CLASS = "accounts.webauthn.Helper"
# A passkey is a second factor here, after the password (which unwraps the
# caseworker's content key): never a sign-in on its own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# Failures are audited by accounts.webauthn; no tracebacks in the logs.
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""

# Sessions and cookies. Staff sessions end on browser close and after a short
# idle time; every request refreshes the idle clock.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = STAFF_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Every cookie dies with the browser session (Django's CSRF cookie would last a
# year): a cookie of ours left on a searched phone is evidence of contact.
# The language cookie is a session cookie already (LANGUAGE_COOKIE_AGE None).
CSRF_COOKIE_AGE = None
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Transport and browser security.
SECURE_SSL_REDIRECT = not DEBUG
# Health checks from the machine itself (load balancer, compose) speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
# Same-origin: nothing leaks to other sites, and our own forms keep their Origin
# header (with "no-referrer" browsers send "Origin: null" and CSRF checks fail).
SECURE_REFERRER_POLICY = "same-origin"
# The public forms come back filled in, with a fresh token (intake.views.csrf_failure).
CSRF_FAILURE_VIEW = "intake.views.csrf_failure"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Strict Content-Security-Policy (django-csp 4): our own stylesheet, images and
# (if ever) scripts, nothing inline, nothing from anywhere else, no framing.
# The public pages need no script at all.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SILENCED_SYSTEM_CHECKS = []

# Logs never carry request bodies, client addresses or user agents; errors go
# to stderr only, never to e-mail (AdminEmailHandler would mail request data).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_client_data": {"()": "core.logging.DropClientData"},
        "one_line_for_client_errors": {"()": "core.logging.OneLineForClientErrors"},
    },
    "formatters": {
        # To the second: a line is not tied to an audit entry by its milliseconds.
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
            "datefmt": "%Y-%m-%d %H:%M:%S",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            # In this order: a 4xx loses its traceback before the rest is scrubbed.
            "filters": ["one_line_for_client_errors", "no_client_data"],
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
# LOG_FILE: also append every log line to this file (the test run's log scan
# reads it; a server normally logs to journald through stderr only).
LOG_FILE = os.environ.get("LOG_FILE", "").strip()
if LOG_FILE:
    LOGGING["handlers"]["file"] = {
        "class": "logging.FileHandler",
        "filename": LOG_FILE,
        "formatter": "plain",
        "filters": ["one_line_for_client_errors", "no_client_data"],
        "encoding": "utf-8",
    }
    LOGGING["root"]["handlers"].append("file")
    LOGGING["loggers"]["django"]["handlers"].append("file")
# Any error report (the DEBUG page; a mail, if ADMINS and a mail handler are
# ever added) shows no cookie, key or secret (core/logging.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.logging.NoSecretsInErrorReports"
# Celery workers keep Django's logging (and its filter) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Uploads are read in memory only: Django's default would write any file over
# 2.5 MB to a temporary file in clear (/tmp), before we could clean or seal it.
# Our handler keeps every file in memory, whatever the request's size, but no
# more of it than the limits need to be checked (intake/attachments/uploads.py).
FILE_UPLOAD_HANDLERS = ["intake.attachments.uploads.MemoryOnlyUploadHandler"]
# A bot's JSON request carries its files in base64 (4/3 of their size): the
# limits are then checked by intake.attachments.services with a clear message,
# not by Django's generic 413. (Form fields outside files count here too.)
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_TOTAL * 4 // 3 + 1024**2
# More files than allowed are still read (not kept), so the form says how many.
DATA_UPLOAD_MAX_NUMBER_FILES = ATTACHMENT_MAX_FILES * 4

"""
A logging filter that keeps client data out of every log.

Django attaches the request (with its address, user agent and referrer) to some
log records, and request lines can carry query strings; this filter drops the
request object and masks anything that looks like an IP address, a URL (a CSRF
failure names the client's Origin or Referer) or a query string. It also
escapes control and invisible format characters (NUL, newline, ESC, bidi
overrides, zero-width characters): a path such as /%0A... is decoded before it
is logged, and must not forge a log line or hide what a line says. It is
attached to every handler, Django's and gunicorn's.

A case reference in a path (/staff/cases/<reference>/...) is masked too: the
audit log records who opened which case; a log line must not (nor, in the
access log, the millisecond time that would tie it to an audit entry:
config/gunicorn.conf.py logs the minute).

`NoSecretsInErrorReports` is Django's exception reporter filter for any error
report (the DEBUG page, a mail to ADMINS if one is ever configured): no
cookie value (the session, `tropa_unlock`, which unlocks the organisation
key), no variable named like a key or a secret, and no variable holding a
cookie's value appears in it.

`OneLineForClientErrors` keeps an ordinary refusal (a 403 for a page of
another role, a 400) to its one line: Django logs them with the exception's
traceback, which on a console looks like a crash. Server errors keep theirs.
"""

import ipaddress
import logging
import re
import unicodedata

from django.views.debug import SafeExceptionReporterFilter

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Candidates only: each is checked, so times such as 06:23:51 are left alone.
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_QUERY = re.compile(r"\?[^\s\"']*")
# Anything with a scheme: a referrer, an origin, a service URL with a password.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*")
# A case's reference where a path names it: the case pages and their actions.
_CASE_PATH = re.compile(r"(/staff/cases/)[^/\s\"'?]+")
# Control characters, format characters (bidi controls, zero-width characters)
# and line or paragraph separators are written as escapes.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _mask_ipv6(match: re.Match) -> str:
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[address]"


def _mask_url(match: re.Match) -> str:
    # Punctuation after a URL is the sentence's, not the URL's: "(... https://x/):".
    url = match.group(0)
    kept = url.rstrip(").,;:!?]")
    return "[url]" + url[len(kept) :]


def escape_invisible(text: str, keep: str = "") -> str:
    """Control and invisible characters as visible escapes (\\n, \\x00, \\u202e);
    those in `keep` are left as they are."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch not in keep and unicodedata.category(ch) in _ESCAPED_CATEGORIES
        else ch
        for ch in text
    )


def scrub(text: str, keep: str = "") -> str:
    text = _URL.sub(_mask_url, text)
    text = _IPV4.sub("[address]", text)
    text = _IPV6_CANDIDATE.sub(_mask_ipv6, text)
    text = _QUERY.sub("?[query]", text)
    text = _CASE_PATH.sub(r"\1[reference]", text)
    return escape_invisible(text, keep)


class DropClientData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for attribute in ("request", "client_addr", "remote_addr"):
            if hasattr(record, attribute):
                setattr(record, attribute, None)
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = scrub(message), ()
        # A traceback keeps its lines; what they quote is scrubbed like a message.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, keep="\n")
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, keep="\n")
        return True


class OneLineForClientErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


class NoSecretsInErrorReports(SafeExceptionReporterFilter):
    # Django's list, and what unlocks content here: cookies, sessions, private keys.
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|UNLOCK|SESSION|CSRF|PRIVATE",
        flags=re.I,
    )
    # Shorter cookie values could match ordinary text by chance.
    SHORTEST_COOKIE = 8

    def get_safe_cookies(self, request) -> dict:
        return {name: self.cleansed_substitute for name in getattr(request, "COOKIES", {})}

    def get_traceback_frame_variables(self, request, tb_frame):
        cookies = [
            value
            for value in getattr(request, "COOKIES", {}).values()
            if len(value) >= self.SHORTEST_COOKIE
        ]
        return [
            (name, self._cleansed(name, value, cookies))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def _cleansed(self, name: str, value, cookies: list[str]):
        if self.hidden_settings.search(name):
            return self.cleansed_substitute
        text = value.decode("latin-1") if isinstance(value, bytes | bytearray) else value
        if not isinstance(text, str):
            try:
                text = repr(value)
            except Exception:
                return value
        if any(cookie in text for cookie in cookies):
            return self.cleansed_substitute
        return value

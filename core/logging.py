"""
A logging filter that keeps client data out of every log.

Django attaches the request (with its address, user agent and referrer) to some
log records, and request lines can carry query strings; this filter drops the
request object and masks anything that looks like an IP address or a query
string. It is attached to every handler, Django's and gunicorn's.
"""

import ipaddress
import logging
import re

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Candidates only: each is checked, so times such as 06:23:51 are left alone.
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_QUERY = re.compile(r"\?[^\s\"']*")


def _mask_ipv6(match: re.Match) -> str:
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[address]"


def scrub(text: str) -> str:
    text = _IPV4.sub("[address]", text)
    text = _IPV6_CANDIDATE.sub(_mask_ipv6, text)
    return _QUERY.sub("?[query]", text)


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
        return True

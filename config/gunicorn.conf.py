"""
gunicorn settings: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

The access log keeps what operators need (time to the minute, request line
without its query string, status, size, duration) and nothing about the client:
no address, no user agent, no referrer. Nor which case a caseworker opened:
the reference in a case's path is masked, and the time is not precise enough
to find the audit entry (which already records who opened what). Both it and
gunicorn's own messages go through the same filter as Django's
(core.logging.DropClientData), which masks any address or URL in them
(gunicorn names the client's IP when it refuses a malformed request) and
escapes control characters: the path is logged decoded, and a %0A in it must
not start a forged line.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 60
# gunicorn 27's control socket would live under $HOME, which services do not have.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
access_log_format = '"%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# Behind the TLS reverse proxy only: it is the one that sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_client_data": {"()": "core.logging.DropClientData"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
            "datefmt": "%Y-%m-%d %H:%M:%S",
        },
        "access": {"format": "%(asctime)s %(message)s", "datefmt": "%Y-%m-%d %H:%M"},
    },
    "handlers": {
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["no_client_data"],
            "stream": "ext://sys.stdout",
        },
        "errors": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_client_data"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["errors"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["errors"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}

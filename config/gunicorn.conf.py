"""
gunicorn settings: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

The access log keeps what operators need (time, request line, status, size,
duration) and nothing about the client: no address, no user agent, no referrer.
Query strings are dropped too (%(U)s is the path alone).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = 60
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# Behind the TLS reverse proxy only: it is the one that sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

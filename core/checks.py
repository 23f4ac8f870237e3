"""System checks for a production start (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def production_services(app_configs, **kwargs):
    """Without REDIS_URL, Celery runs tasks inside web requests and every process
    keeps its own rate-limit counters: fine on a laptop, wrong on a server."""
    if settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set: Celery tasks would run inside web requests and each "
            "process would keep its own rate limits.",
            hint="Set REDIS_URL to the Redis shared by every web and worker process.",
            id="tropa.W001",
        )
    ]

"""
Start-up of worker processes that help a management command with CPU work.

Kept free of model imports: a spawned process unpickles its initializer before
Django is set up, so the initializer's module must import cleanly then.
"""

import os


def start_django_worker(settings_in_use: dict) -> None:
    """Set Django up in a fresh process, with the settings the parent uses."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    for name, value in settings_in_use.items():
        setattr(settings, name, value)

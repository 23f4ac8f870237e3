"""
Queueing a task by its registered name, so that a service can start work a task
does without importing the module that defines it: tasks import services, never
the reverse (an import circle otherwise, services -> tasks -> services).
"""

from celery import current_app


def enqueue(name: str, *args: object) -> None:
    """
    Queue the task registered as `name` with `args` (ids only: the broker holds
    them in clear), or run it at once where Celery is eager (no REDIS_URL). The
    apps' tasks modules are loaded the first time a name is not yet known, as
    the worker loads them at start; an unknown name is a KeyError.
    """
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
    tasks[name].delay(*args)

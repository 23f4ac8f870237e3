# Tropa: one image for the web app (gunicorn), the Celery worker and Celery
# beat. docker-compose.yml runs them; docs/deployment.md explains the rest.
#
#   docker build -t tropa .
#
# Nothing secret is baked in: keys and passwords come from the environment
# when a container starts, and the app refuses to start without real keys.
# Pinned by digest: a tag can be re-pointed, a digest cannot. docs/deployment.md
# ("Docker compose") says how to move to a newer image.
FROM python:3.11.16-slim-bookworm@sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f

# GUNICORN_CMD_ARGS: no management socket (gunicorn 25+ would try to create
# one under $HOME, which does not exist here).
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUNICORN_BIND=0.0.0.0:8000

# An unprivileged user to run as; /var/lib/tropa holds beat's schedule file.
RUN groupadd --system --gid 10001 tropa \
    && useradd --system --uid 10001 --gid tropa --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tropa \
    && install -d -o tropa -g tropa -m 0700 /var/lib/tropa

WORKDIR /app
COPY . /app

# The exact versions and hashes of requirements.lock, as dev.py installs them:
# a file whose hash differs from the lock's is refused. The project itself is
# built with the locked setuptools (no build isolation, so no unpinned build
# backend is fetched). Editable (-e), like dev.py: templates, static files and
# translations live beside the Python packages, not inside them, so the app
# must run from this directory. The code stays owned by root: the app cannot
# change itself.
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && python -m compileall -q /app

# Static files are collected once, at build time. Settings refuse to load with
# DEBUG off without two real, different keys of 32 characters or more; these
# two exist only for this command and are in no running container.
RUN DEBUG=0 \
    SECRET_KEY=build-only-collectstatic-not-a-secret-0000000001 \
    ENCRYPTION_KEY=build-only-collectstatic-not-a-secret-0000000002 \
    python manage.py collectstatic --noinput --verbosity 0

USER tropa
EXPOSE 8000

# gunicorn's access log (config/gunicorn.conf.py) never records client addresses.
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]

"""What every page may show about the site itself."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# Neutral on purpose: the name sits in large type on every page, in the
# browser's history and in the phone's app switcher, where anyone who picks the
# phone up reads it.
DEFAULT_SITE_NAME = _("Consultations")


def site(request: HttpRequest) -> dict:
    return {"site_name": settings.SITE_NAME or DEFAULT_SITE_NAME}

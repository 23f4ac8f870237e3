"""
The organisation's vocabulary for requests (SPEC.md). Stored values are these
exact slugs; labels are what people read, in Russian and English.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    DESERTION = "desertion", _("Desertion")
    BORDER_CROSSING = "border_crossing", _("Border crossing")
    CONSULTATION = "consultation", _("Consultation")


# The published "desertion-related" figure counts both of these.
DESERTION_RELATED = (Category.DESERTION.value, Category.BORDER_CROSSING.value)


class ServiceStatus(models.TextChoices):
    CONSCRIPT = "conscript", _("Conscript")
    MOBILISED = "mobilised", _("Mobilised")
    CONTRACT_PREWAR = "contract_prewar", _("Contract signed before 24 February 2022")
    CONTRACT_WARTIME = "contract_wartime", _("Contract signed after 24 February 2022")
    VOLUNTEER = "volunteer", _("Volunteer")
    CIVILIAN = "civilian", _("Not in service (e.g. a summons only)")
    UNKNOWN = "unknown", _("Unknown")


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    TELEGRAM = "telegram", _("Telegram")
    SIGNAL = "signal", _("Signal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    OTHER = "other", _("Other")


class Location(models.TextChoices):
    HOME_COUNTRY = "home_country", _("In Russia")
    OCCUPIED_TERRITORY = "occupied_territory", _("In occupied territory")
    FRONT_LINE = "front_line", _("At the front line")
    ABROAD = "abroad", _("Abroad")
    UNKNOWN = "unknown", _("Unknown")


class Urgency(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# Most urgent first: the order the triage queue works in.
URGENCY_RANK = {
    Urgency.CRITICAL.value: 0,
    Urgency.HIGH.value: 1,
    Urgency.NORMAL.value: 2,
    Urgency.LOW.value: 3,
}


class LegalArticle(models.TextChoices):
    REFUSING_ORDERS = "332", _("Article 332: refusing orders")
    AWOL = "337", _("Article 337: absence without leave")
    DESERTION = "338", _("Article 338: desertion")


class Language(models.TextChoices):
    RUSSIAN = "ru", _("Russian")
    ENGLISH = "en", _("English")

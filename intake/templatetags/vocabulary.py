"""Labels for stored slugs, in the reader's language."""

from django import template

from cases.workflow import CaseState, Outcome
from intake.vocabulary import Category, Channel, LegalArticle, Location, ServiceStatus, Urgency

register = template.Library()

VOCABULARIES = {
    "category": Category,
    "service_status": ServiceStatus,
    "channel": Channel,
    "location": Location,
    "urgency": Urgency,
    "article": LegalArticle,
    "state": CaseState,
    "outcome": Outcome,
}


@register.simple_tag
def label(vocabulary: str, value: str) -> str:
    """The human label of a slug, or the slug itself if it is not known."""
    choices = VOCABULARIES[vocabulary]
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "—"

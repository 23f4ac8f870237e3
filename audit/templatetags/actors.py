"""`{% load actors %}`: `{{ name|actor }}`, a system actor in words (audit.labels)."""

from django import template
from django.utils.html import format_html

from audit.labels import SYSTEM_ACTORS, actor_label

register = template.Library()


@register.filter
def actor(name: str) -> str:
    if not name:
        return "—"
    if name in SYSTEM_ACTORS:
        return format_html('<span class="system-actor">{}</span>', actor_label(name))
    return name

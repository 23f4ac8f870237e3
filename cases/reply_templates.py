"""
Reply templates: the answers caseworkers give often, written once, inserted
into the reply box of a case page and edited there before sending.

What the organisation tells requesters is as telling as what they write, so a
template's title and text are sealed to the organisation like a note (only the
public key is needed to write one) and opened only with a caseworker's session
keys, through cases.access. They are never logged, and the audit log names a
template by its number and language, never by its words. Titles are unique per
language; the database cannot compare sealed titles, so that is checked here,
on the titles the writer's session opens.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from audit.services import record
from cases.access import ContentLocked, OpenedTemplate, open_templates
from cases.models import ReplyTemplate
from cases.services import CaseError
from encryption.access import ContentKeys
from encryption.sealing import Envelope, seal_into
from intake.vocabulary import Language

TEMPLATE_FIELDS = ("title", "language", "body")


class DuplicateTitle(CaseError):
    pass


class TemplatesLocked(CaseError):
    pass


def _save(
    template: ReplyTemplate, title: str, body: str, action: str, *, actor: AbstractBaseUser,
    keys: ContentKeys,
) -> ReplyTemplate:  # fmt: skip
    """Seal the title and text under a new key of the template's own, after checking
    that no other template of its language has that title."""
    try:
        others = [o for o in open_templates(keys) if o.pk != template.pk]
    except ContentLocked:
        raise TemplatesLocked(
            _("Your session cannot open the templates, so it cannot write one.")
        ) from None
    if any(o.language == template.language and o.title == title for o in others):
        raise DuplicateTitle(_("A template with this title already exists in this language."))
    envelope = Envelope()
    seal_into(template, {"title": title, "body": body}, envelope)
    with transaction.atomic():
        envelope.row.save(force_insert=True)
        template.save()
        record(action, actor=actor, target=f"template {template.pk}", language=template.language)
    return template


def create_template(
    *, title: str, language: str, body: str, actor: AbstractBaseUser, keys: ContentKeys
) -> ReplyTemplate:
    template = ReplyTemplate(language=language, created_by=actor, updated_by=actor)
    return _save(template, title.strip(), body.strip(), "template.create", actor=actor, keys=keys)


def update_template(
    template: ReplyTemplate, *, title: str, language: str, body: str, actor: AbstractBaseUser,
    keys: ContentKeys,
) -> ReplyTemplate:  # fmt: skip
    template.language = language
    template.updated_by, template.updated_at = actor, timezone.now()
    return _save(template, title.strip(), body.strip(), "template.change", actor=actor, keys=keys)


def delete_template(template: ReplyTemplate, *, actor: AbstractBaseUser) -> None:
    with transaction.atomic():
        record(
            "template.delete",
            actor=actor,
            target=f"template {template.pk}",
            language=template.language,
        )
        template.delete()


def template_choices(
    templates: list[OpenedTemplate], case_language: str
) -> list[tuple[str, list[tuple[int, str]]]]:
    """Templates grouped by language for the case page's select, the case's
    language first (Russian first when it is unknown)."""
    languages = sorted(Language, key=lambda language: language != case_language)
    return [
        (str(language.label), [(t.pk, t.title) for t in templates if t.language == language])
        for language in languages
        if any(t.language == language for t in templates)
    ]


def chosen_template(templates: list[OpenedTemplate], raw: str | None) -> OpenedTemplate | None:
    """The template named by the case page's ?template=<id>, if it exists."""
    if not raw or not raw.isdigit() or len(raw) > 12:
        return None
    return next((t for t in templates if t.pk == int(raw)), None)


# What a template may say about the person it goes to, filled in when it is
# inserted into the reply box (server-side: the alias is opened there anyway).
PLACEHOLDERS = ("{alias}", "{language}")


def fill_placeholders(body: str, *, alias: str, language: str) -> str:
    """
    The template's text with {alias} replaced by the requester's alias and
    {language} by the name of their receipt's language, in that language. A
    request without an alias keeps "{alias}" visible, for the caseworker to
    replace before sending.
    """
    names = {code: str(label) for code, label in Language.choices}
    with override(language):
        language_name = str(names.get(language, language))
    if alias:
        body = body.replace("{alias}", alias)
    return body.replace("{language}", language_name)

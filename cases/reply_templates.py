"""
Reply templates: the answers caseworkers give often, written once, inserted
into the reply box of a case page and edited there before sending.

Their text is staff-written boilerplate, not case content, so it is stored in
clear; it is still never logged, and the audit log names a template by its
number and language, never by its words.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from cases.models import ReplyTemplate
from cases.services import CaseError
from intake.vocabulary import Language

TEMPLATE_FIELDS = ("title", "language", "body")


class DuplicateTitle(CaseError):
    pass


def _save(template: ReplyTemplate, action: str, actor: AbstractBaseUser) -> ReplyTemplate:
    try:
        with transaction.atomic():
            template.save()
            record(
                action, actor=actor, target=f"template {template.pk}", language=template.language
            )
    except IntegrityError:
        raise DuplicateTitle(
            _("A template with this title already exists in this language.")
        ) from None
    return template


def create_template(
    *, title: str, language: str, body: str, actor: AbstractBaseUser
) -> ReplyTemplate:
    template = ReplyTemplate(
        title=title.strip(), language=language, body=body.strip(),
        created_by=actor, updated_by=actor,
    )  # fmt: skip
    return _save(template, "template.create", actor)


def update_template(
    template: ReplyTemplate, *, title: str, language: str, body: str, actor: AbstractBaseUser
) -> ReplyTemplate:
    template.title, template.language, template.body = title.strip(), language, body.strip()
    template.updated_by, template.updated_at = actor, timezone.now()
    return _save(template, "template.change", actor)


def delete_template(template: ReplyTemplate, *, actor: AbstractBaseUser) -> None:
    with transaction.atomic():
        record(
            "template.delete",
            actor=actor,
            target=f"template {template.pk}",
            language=template.language,
        )
        template.delete()


def template_list() -> QuerySet:
    return ReplyTemplate.objects.select_related("updated_by").order_by("language", "title", "pk")


def template_choices(case_language: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """Templates grouped by language for the case page's select, the case's
    language first (Russian first when it is unknown)."""
    languages = sorted(Language, key=lambda language: language != case_language)
    rows = list(
        ReplyTemplate.objects.order_by("title", "pk").values_list("pk", "title", "language")
    )
    return [
        (str(language.label), [(pk, title) for pk, title, lang in rows if lang == language])
        for language in languages
        if any(lang == language for _pk, _title, lang in rows)
    ]


def chosen_template(raw: str | None) -> ReplyTemplate | None:
    """The template named by the case page's ?template=<id>, if it exists."""
    if not raw or not raw.isdigit() or len(raw) > 12:
        return None
    return ReplyTemplate.objects.filter(pk=int(raw)).first()

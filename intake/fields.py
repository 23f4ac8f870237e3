"""A set of legal articles stored in one plaintext column on any database."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from intake.vocabulary import LegalArticle

SEPARATOR = ";"
KNOWN_ARTICLES = frozenset(LegalArticle.values)


def normalise_articles(values: Iterable[str]) -> list[str]:
    """Sorted, de-duplicated article codes; raises ValueError on an unknown one."""
    articles = {value.strip() for value in values} - {""}
    if not articles <= KNOWN_ARTICLES:
        raise ValueError(", ".join(sorted(articles - KNOWN_ARTICLES)))
    return sorted(articles)


class LegalArticlesField(models.CharField):
    """
    Any subset of the legal articles, stored as "332;338" (sorted, the same
    form as the CSV). Articles are fixed three-digit codes, so a `contains`
    lookup on one code is exact, on SQLite and PostgreSQL alike: reports count
    per article with `legal_articles__contains="338"`.
    """

    description = _("Set of legal articles")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, *args: Any) -> list[str]:
        return value.split(SEPARATOR) if value else []

    def to_python(self, value: Any) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, str):
            value = value.split(SEPARATOR)
        try:
            return normalise_articles(value)
        except ValueError as error:
            raise ValidationError(
                _("Unknown legal article: %(articles)s"), params={"articles": str(error)}
            ) from None

    def get_prep_value(self, value: Any) -> str:
        # A plain string is a lookup argument (e.g. contains="338"): pass it on.
        if isinstance(value, str):
            return value
        return SEPARATOR.join(self.to_python(value))

    def get_db_prep_save(self, value: Any, connection: Any) -> str:
        return self.get_prep_value(value)

    def validate(self, value: Any, model_instance: Any) -> None:
        # Choices apply to each element, not to the joined value.
        if not self.blank and not value:
            raise ValidationError(self.error_messages["blank"], code="blank")

    def value_to_string(self, obj: Any) -> str:
        return SEPARATOR.join(self.value_from_object(obj) or [])

"""factory_boy factories for the domain models."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import Case
from encryption.fingerprint import current_fingerprint
from encryption.sealing import Envelope, seal_into
from intake.models import HelpRequest
from intake.services import SEALED_REQUEST_FIELDS
from intake.vocabulary import URGENCY_RANK
from tests import content_keys


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    password = factory.django.Password("correct horse battery staple")


class HelpRequestFactory(DjangoModelFactory):
    class Meta:
        model = HelpRequest

    received_at = factory.LazyFunction(timezone.now)
    channel = "web"
    category = "desertion"
    service_status = "mobilised"
    location = "front_line"
    urgency = "normal"
    legal_articles = factory.LazyFunction(lambda: ["338"])
    contact = factory.Sequence(lambda n: f"@requester_{n:05d}")
    narrative = factory.Sequence(lambda n: f"I need to leave my unit, story number {n:05d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """
        Sealed to the test's organisation key, as the intake services seal, and
        fingerprinted as if a caseworker's session had met it already (unless a
        contact_fingerprint is given, "" for one not met yet).
        """
        texts = {name: kwargs.pop(name, "") or "" for name in SEALED_REQUEST_FIELDS}
        help_request = model_class(*args, **kwargs)
        envelope = Envelope()
        seal_into(help_request, texts, envelope)
        if "contact_fingerprint" not in kwargs:
            help_request.contact_fingerprint = current_fingerprint(
                content_keys.organisation_keys(), texts["contact"]
            )
        envelope.row.save(force_insert=True)
        help_request.save(force_insert=True)
        return help_request


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case

    request = factory.SubFactory(HelpRequestFactory)
    created_at = factory.SelfAttribute("request.received_at")
    priority = factory.LazyAttribute(lambda case: URGENCY_RANK[case.request.urgency])

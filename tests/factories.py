"""factory_boy factories for the domain models."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import Case
from encryption.fingerprint import contact_fingerprint
from intake.models import HelpRequest
from intake.vocabulary import URGENCY_RANK


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
    contact_fingerprint = factory.LazyAttribute(lambda o: contact_fingerprint(o.contact))


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case

    request = factory.SubFactory(HelpRequestFactory)
    created_at = factory.SelfAttribute("request.received_at")
    priority = factory.LazyAttribute(lambda case: URGENCY_RANK[case.request.urgency])

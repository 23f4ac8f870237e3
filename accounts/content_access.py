"""
/staff/access/: who may read content, and granting or revoking it.

Only a caseworker whose session holds the organisation key can grant it;
admins see nothing here unless they are also such a caseworker. Granting and
revoking pass the same door as every other caseworker action
(cases.access.caseworker_door): a session that outlived its own revocation
grants and revokes nothing. The page itself stays open to every caseworker:
it is where one waiting for access is sent. Each person
waiting for access is shown with the safety code of their key, which the
granting caseworker compares with them before granting (docs/encryption.md).
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as account_services
from accounts.decorators import staff_required
from accounts.roles import Role
from cases.access import caseworker_door
from core import confirmation
from encryption import content, services
from encryption.models import CaseworkerKey, ContentGrant, OrganisationKey
from encryption.session import keys_for

User = get_user_model()


@dataclass
class Person:
    user: object
    safety_code: str
    has_access: bool
    granted_by: str = ""


def _caseworkers() -> list[Person]:
    active = OrganisationKey.objects.filter(state=OrganisationKey.State.ACTIVE).first()
    keys = {k.user_id: k for k in CaseworkerKey.objects.all()}
    grants = {
        g.user_id: g
        for g in ContentGrant.objects.filter(organisation_key=active)
        if active is not None
    }
    people = []
    for user in (
        User.objects.filter(groups__name=Role.CASEWORKER, is_active=True)
        .order_by("username")
        .distinct()
    ):
        key = keys.get(user.pk)
        grant = grants.get(user.pk)
        people.append(
            Person(
                user=user,
                safety_code=content.safety_code(bytes(key.public_key)) if key else "",
                has_access=grant is not None,
                granted_by=grant.granted_by if grant else "",
            )
        )
    return people


@never_cache
@staff_required(Role.CASEWORKER)
def access(request: HttpRequest) -> HttpResponse:
    keys = keys_for(request)
    people = _caseworkers()
    me = next((p for p in people if p.user.pk == request.user.pk), None)
    return render(
        request,
        "accounts/access.html",
        {
            "can_grant": bool(keys) and keys.active_key_id() is not None,
            "me": me,
            "waiting": [p for p in people if not p.has_access and p.safety_code],
            "without_key": [p for p in people if not p.safety_code],
            "with_access": [p for p in people if p.has_access],
            "rotating": services.rotation_in_progress(),
        },
    )


def _caseworker(pk: int):
    return get_object_or_404(User, pk=pk, groups__name=Role.CASEWORKER, is_active=True)


@require_POST
@caseworker_door
def grant(request: HttpRequest, pk: int) -> HttpResponse:
    person = _caseworker(pk)
    if request.POST.get("compared") != "yes":
        messages.error(
            request,
            _("Compare the safety code with %(name)s and tick the box before granting access.")
            % {"name": person.get_username()},
        )
        return redirect("accounts:access")
    try:
        services.grant_access(person, keys=keys_for(request), actor=request.user)
    except services.ContentKeyError:
        messages.error(
            request,
            _(
                "Access could not be granted: only a caseworker with access can grant it, "
                "and %(name)s must have signed in once."
            )
            % {"name": person.get_username()},
        )
    else:
        messages.success(
            request,
            _("%(name)s can read cases from their next sign-in.") % {"name": person.get_username()},
        )
    return redirect("accounts:access")


@never_cache
@require_http_methods(["GET", "POST"])
@caseworker_door
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    person = _caseworker(pk)
    if not confirmation.redeem(request, "access.revoke", [person.pk]):
        token = confirmation.issue(request, "access.revoke", [person.pk])
        return render(
            request, "accounts/access_revoke.html", {"person": person, "confirmation": token}
        )
    if not keys_for(request):
        messages.error(request, _("Only a caseworker with access can revoke it."))
        return redirect("accounts:access")
    try:
        services.revoke_access(person, actor=request.user)
    except services.ContentKeyError:
        messages.error(request, _("%(name)s has no access.") % {"name": person.get_username()})
        return redirect("accounts:access")
    account_services.end_sessions_of(person)
    messages.success(
        request,
        _(
            "%(name)s can no longer read cases. A new organisation key seals everything "
            "from now on; older content moves to it while caseworkers work."
        )
        % {"name": person.get_username()},
    )
    return redirect("accounts:access")

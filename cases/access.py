"""
The one door to decrypted case content.

Views get a case through `get_case_for`, which checks that the person is a
caseworker, answers 404 for an unknown reference, and, when the case is opened
for reading, writes the audit entry before anything is decrypted. Changes
(moves, notes, assignment) record their own entries in cases.services.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts.roles import Role, has_role
from audit.services import record
from cases.models import Case


def get_case_for(request: HttpRequest, reference: str, *, reading: bool = True) -> Case:
    if not has_role(request.user, Role.CASEWORKER):
        raise PermissionDenied
    case = (
        Case.objects.select_related("request", "assigned_to")
        .filter(request__reference=reference)
        .first()
    )
    if case is None:
        raise Http404
    if reading:
        record("case.view", actor=request.user, target=reference)
    return case

"""What every staff page needs to draw its navigation."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import lockdown
from accounts.roles import Role, roles_of


def staff(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {"staff_roles": set()}
    roles = roles_of(user)
    context = {"staff_roles": roles}
    if Role.ADMIN in roles:
        # Only admins can be signed in during a lockdown: they see it on every page.
        context["lockdown_in_force"] = SimpleLazyObject(lockdown.in_force)
    return context

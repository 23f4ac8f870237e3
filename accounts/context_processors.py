"""What every staff page needs to draw its navigation."""

from django.http import HttpRequest

from accounts.roles import roles_of


def staff(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {"staff_roles": set()}
    return {"staff_roles": roles_of(user)}

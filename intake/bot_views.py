"""Admins make and revoke the messaging bots' API tokens."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import staff_required
from accounts.roles import Role
from intake.models import BotToken
from intake.services import create_bot_token, revoke_bot_token
from intake.vocabulary import Channel


class BotForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        choices=[choice for choice in Channel.choices if choice[0] != Channel.WEB],
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if BotToken.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(gettext_lazy("A bot with this name already exists."))
        return name


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def bots(request: HttpRequest) -> HttpResponse:
    form = BotForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        _bot, token = create_bot_token(
            form.cleaned_data["name"], form.cleaned_data["channel"], actor=request.user
        )
        form = BotForm()
    return render(
        request,
        "intake/bots.html",
        {"form": form, "token": token, "bots": BotToken.objects.select_related("created_by")},
    )


@staff_required(Role.ADMIN)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    bot = get_object_or_404(BotToken, pk=pk)
    revoke_bot_token(bot, actor=request.user)
    messages.success(request, _("The token of %(name)s no longer works.") % {"name": bot.name})
    return redirect("bots:list")

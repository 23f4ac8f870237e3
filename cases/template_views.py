"""
Reply templates for caseworkers: managed at /staff/templates/, and inserted on
a case page without JavaScript (a GET with ?template=<id> fills the reply box,
which the caseworker edits and sends through the ordinary reply).
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import after_session_ends
from cases import reply_templates
from cases.access import (
    ContentLocked,
    OpenedTemplate,
    caseworker_door,
    open_template,
    open_templates,
)
from cases.forms import ReplyForm
from cases.models import Case
from cases.services import CaseError
from encryption import drafts
from encryption.session import keys_for
from intake.vocabulary import Language

PAGE_SIZE = 25


class ReplyTemplateForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=120,
        help_text=gettext_lazy("What it answers, as caseworkers will look for it."),
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=Language.choices)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "Inserted into the reply box of a case page, where it can be changed before "
            "it is sent. Write nothing about any one person here: {alias} becomes the "
            "requester's alias and {language} the language they wrote in."
        ),
    )


def reply_form_context(request: HttpRequest, case: Case, alias: str = "") -> dict:
    """The case page's reply form, filled with the template chosen
    (?template=<id>), its placeholders filled for this request."""
    try:
        templates = open_templates(keys_for(request))
    except ContentLocked:
        templates = []  # the page says the content is locked
    chosen = reply_templates.chosen_template(templates, request.GET.get("template"))
    initial = {}
    if chosen:
        body = reply_templates.fill_placeholders(
            chosen.body, alias=alias, language=case.request.language
        )
        initial = {"body": body}
    return {
        "reply_form": ReplyForm(auto_id="reply_%s", initial=initial),
        "reply_templates": reply_templates.template_choices(templates, case.request.language),
        "chosen_template": chosen,
    }


@never_cache
@require_GET
@caseworker_door
def template_list(request: HttpRequest) -> HttpResponse:
    try:
        templates = open_templates(keys_for(request))
    except ContentLocked:
        return render(request, "cases/reply_templates.html", {"locked": True})
    page = Paginator(templates, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/reply_templates.html", {"page": page})


def _saved(request: HttpRequest, form: ReplyTemplateForm, opened: OpenedTemplate | None) -> bool:
    keys = keys_for(request)
    try:
        if opened is None:
            reply_templates.create_template(**form.cleaned_data, actor=request.user, keys=keys)
        else:
            reply_templates.update_template(
                opened.template, **form.cleaned_data, actor=request.user, keys=keys
            )
    except CaseError as refusal:
        form.add_error("title", str(refusal))
        return False
    return True


@never_cache
@require_http_methods(["GET", "POST"])
@caseworker_door
@after_session_ends(form="template", fields=reply_templates.TEMPLATE_FIELDS)
def template_new(request: HttpRequest) -> HttpResponse:
    kept = drafts.take(request, request.path).get("template", {})
    form = ReplyTemplateForm(request.POST or None, initial=kept)
    if request.method == "POST" and form.is_valid() and _saved(request, form, None):
        messages.success(request, _("Template saved."))
        return redirect("cases:templates")
    response = render(request, "cases/reply_template_form.html", {"form": form, "template": None})
    return drafts.drop(request, response)


@never_cache
@require_http_methods(["GET", "POST"])
@caseworker_door
@after_session_ends(form="template", fields=reply_templates.TEMPLATE_FIELDS)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        template = open_template(keys_for(request), pk)
    except ContentLocked:
        return redirect("cases:templates")  # which says why
    initial = {name: getattr(template, name) for name in reply_templates.TEMPLATE_FIELDS}
    initial.update(drafts.take(request, request.path).get("template", {}))
    form = ReplyTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _saved(request, form, template):
        messages.success(request, _("Template saved."))
        return redirect("cases:templates")
    response = render(
        request, "cases/reply_template_form.html", {"form": form, "template": template}
    )
    return drafts.drop(request, response)


@never_cache
@require_http_methods(["GET", "POST"])
@caseworker_door
@after_session_ends("cases:template_edit")
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        template = open_template(keys_for(request), pk)
    except ContentLocked:
        return redirect("cases:templates")  # which says why
    if request.method == "POST":
        reply_templates.delete_template(template.template, actor=request.user)
        messages.success(request, _("Template deleted."))
        return redirect("cases:templates")
    return render(request, "cases/reply_template_delete.html", {"template": template})

"""
The coordinators' dashboard, the stored monthly reports, the definitions of
their figures, chart downloads, and the statistics export (coordinators and
admins). Every figure shown comes from a report's published figures.
"""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import staff_required
from accounts.roles import Role, has_role
from audit.services import record
from cases.workflow import Outcome
from core import context_processors
from reports import charts, presentation
from reports.definitions import DEFINITIONS
from reports.exports import ExportRefused, check_request, export_statistics, min_published_cell
from reports.models import MonthlyReport
from reports.months import BadMonth, current_month, label, parse_label, parse_month, shift
from reports.selectors import dashboard as dashboard_data
from reports.selectors import neighbours
from reports.sentences import month_sentences
from reports.services import months_with_requests
from reports.tasks import generate_all_reports, generate_monthly_report


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = dashboard_data()
    context = {"data": data, "is_admin": has_role(request.user, Role.ADMIN)}
    if data.latest:
        latest = data.latest.published
        context.update(
            p=latest,
            year_earlier=parse_label(latest["same_month_last_year"]["month"]) if latest else None,
            category_chart=charts.to_svg(presentation.chart("categories", data)),
            category_rows=presentation.category_table(data),
            cohort=presentation.cohort_rows(latest),
            outcomes=Outcome.values,
            stored_rows=presentation.stored_rows(data),
            statuses=presentation.status_totals(data),
            status_chart=charts.to_svg(presentation.chart("service-status", data)),
            png_charts=charts.chart_font_path() is not None,
        )
    return render(request, "reports/dashboard.html", context)


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def chart_download(request: HttpRequest, name: str, file_format: str) -> HttpResponse:
    """A dashboard chart as an SVG or PNG file, from the same published figures."""
    if name not in presentation.CHARTS or file_format not in ("svg", "png"):
        raise Http404
    data = dashboard_data()
    if not data.latest:
        raise Http404
    site_name = context_processors.site(request)["site_name"]
    drawing = charts.captioned(
        presentation.chart(name, data), presentation.download_caption(data, str(site_name))
    )
    if file_format == "svg":
        response = HttpResponse(
            charts.to_svg_document(drawing), content_type="image/svg+xml; charset=utf-8"
        )
    else:
        try:
            response = HttpResponse(charts.to_png(drawing), content_type="image/png")
        except LookupError:
            raise Http404(_("PNG charts need a font on the server; download the SVG.")) from None
    filename = f"tropa-{name}-{label(data.window[-1])}.{file_format}"
    record("stats.chart", actor=request.user, chart=name, format=file_format)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def definitions(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/definitions.html", {"definitions": DEFINITIONS.values()})


def _month_or_404(month: str):
    try:
        return parse_month(month)
    except BadMonth:
        raise Http404 from None


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def month_report(request: HttpRequest, month: str) -> HttpResponse:
    first_day = _month_or_404(month)
    report = MonthlyReport.objects.defer("data").filter(month=first_day).first()
    if report is None:
        raise Http404
    published = report.published
    previous, following = neighbours(first_day)
    return render(
        request,
        "reports/month.html",
        {
            "report": report,
            "p": published,
            "sentences": month_sentences(published) if published else [],
            "cohort": presentation.cohort_rows(published),
            "outcomes": Outcome.values,
            "previous": previous,
            "following": following,
            "complete": first_day < current_month(),
            "is_admin": has_role(request.user, Role.ADMIN),
        },
    )


@require_POST
@staff_required(Role.ADMIN)
def regenerate(request: HttpRequest, month: str) -> HttpResponse:
    first_day = _month_or_404(month)
    generate_monthly_report.delay(label(first_day))
    record("report.regenerate", actor=request.user, target=label(first_day))
    messages.success(
        request, _("The report for %(month)s is being regenerated.") % {"month": label(first_day)}
    )
    return redirect("reports:dashboard")


@require_POST
@staff_required(Role.ADMIN)
def regenerate_all(request: HttpRequest) -> HttpResponse:
    months = months_with_requests()
    generate_all_reports.delay()
    record("report.regenerate", actor=request.user, target="all", months=len(months))
    messages.success(
        request, _("%(count)s monthly reports are being generated.") % {"count": len(months)}
    )
    return redirect("reports:dashboard")


def worded_headers() -> str:
    return "ru" if (get_language() or "").startswith("ru") else "en"


class ExportForm(forms.Form):
    from_month = forms.CharField(
        label=gettext_lazy("From"),
        max_length=7,
        help_text=gettext_lazy("A month as YYYY-MM, e.g. 2024-01."),
    )
    to_month = forms.CharField(
        label=gettext_lazy("To"),
        max_length=7,
        help_text=gettext_lazy("The last complete month at the latest."),
    )
    file_format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[("csv", "CSV"), ("json", "JSON"), ("xlsx", "XLSX")],
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "XLSX leaves withheld cells empty, so every column stays numeric, and marks them "
            "in a status sheet; it has a sheet of definitions."
        ),
    )
    headers = forms.ChoiceField(
        label=gettext_lazy("Column headers"),
        choices=[
            ("codes", gettext_lazy("Codes (service_status_conscript, …), as scripts expect")),
            ("en", gettext_lazy("Words in English")),
            ("ru", gettext_lazy("Words in Russian")),
        ],
        required=False,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("For CSV and XLSX; JSON keeps the codes."),
    )
    min_cell = forms.IntegerField(
        label=gettext_lazy("Smallest published count"),
        required=False,
        help_text=gettext_lazy(
            "Smaller counts are withheld, with enough other figures that none can be worked out."
        ),
    )

    REFUSALS = {
        "order": ("to_month", gettext_lazy("The last month comes before the first.")),
        "range": (
            "from_month",
            gettext_lazy("Export at most ten years (120 months) at a time."),
        ),
        "incomplete": (
            "to_month",
            gettext_lazy("Choose a month that is over: this month’s figures still change."),
        ),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The floor is a setting (MIN_PUBLISHED_CELL), read when the form is made.
        self.fields["min_cell"].widget.attrs["min"] = min_published_cell()

    def clean_min_cell(self):
        floor, asked = min_published_cell(), self.cleaned_data.get("min_cell")
        if asked is None:
            return floor
        if asked < floor:
            raise forms.ValidationError(
                gettext_lazy(
                    "The smallest published count is %(floor)s here: choose %(floor)s or more."
                ),
                params={"floor": floor},
            )
        return asked

    def _month(self, name: str):
        try:
            return parse_month(self.cleaned_data[name])
        except BadMonth:
            raise forms.ValidationError(
                gettext_lazy("Enter a past month as YYYY-MM, e.g. 2024-01.")
            ) from None

    def clean_from_month(self):
        return self._month("from_month")

    def clean_to_month(self):
        return self._month("to_month")

    def clean_headers(self):
        # Words by default, in the reader's language: a person opens the file;
        # scripts ask for the codes (and the command keeps them by default).
        return self.cleaned_data.get("headers") or worded_headers()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            check_request(
                data["from_month"],
                data["to_month"],
                data["file_format"],
                data["min_cell"],
                data["headers"],
            )
        except ExportRefused as refusal:
            field, message = self.REFUSALS.get(refusal.code, (None, str(refusal)))
            self.add_error(field, message)
        return data


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(Role.COORDINATOR, Role.ADMIN)
def export_stats(request: HttpRequest) -> HttpResponse:
    """The export form; with its fields (a POST, or a GET link) the file itself."""
    if request.method == "POST":
        data = request.POST
    else:
        data = request.GET if set(request.GET) & set(ExportForm.base_fields) else None
    month = current_month()
    initial = {
        "from_month": label(shift(month, -12)),
        "to_month": label(shift(month, -1)),
        "file_format": "csv",
        "min_cell": min_published_cell(),
        "headers": worded_headers(),
    }
    form = ExportForm(data, initial=initial)
    if not form.is_bound or not form.is_valid():
        status = 400 if form.is_bound else 200
        return render(request, "reports/export.html", {"form": form}, status=status)
    fields = form.cleaned_data
    try:
        export = export_statistics(
            fields["from_month"],
            fields["to_month"],
            fields["file_format"],
            fields["min_cell"],
            actor=request.user,
            headers=fields["headers"],
        )
    except ExportRefused as refusal:  # the month turned over since the form was checked
        form.add_error(None, str(refusal))
        return render(request, "reports/export.html", {"form": form}, status=400)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response

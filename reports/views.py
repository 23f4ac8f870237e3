"""The coordinators' dashboard, the stored monthly reports and the admins' statistics export."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import staff_required
from accounts.roles import Role, has_role
from audit.services import record
from intake.vocabulary import Category, ServiceStatus
from reports import charts
from reports.exports import DEFAULT_MIN_CELL, ExportRefused, check_request, export_statistics
from reports.models import MonthlyReport
from reports.months import BadMonth, current_month, label, parse_month, shift
from reports.selectors import dashboard as dashboard_data
from reports.services import months_with_requests
from reports.tasks import generate_monthly_report

CATEGORY_COLOURS = {
    Category.DESERTION: "#b3261e",
    Category.BORDER_CROSSING: "#c77700",
    Category.CONSULTATION: "#1f6feb",
}
STATUS_ORDER = [
    ServiceStatus.CONTRACT_WARTIME,
    ServiceStatus.MOBILISED,
    ServiceStatus.CONTRACT_PREWAR,
    ServiceStatus.CONSCRIPT,
    ServiceStatus.VOLUNTEER,
    ServiceStatus.CIVILIAN,
    ServiceStatus.UNKNOWN,
]
ZERO = {"by_category": {}, "by_service_status": {}}


def _category_chart(data) -> charts.SafeString:
    months = [data.by_month.get(month, ZERO) for month in data.window]
    series = [
        charts.Series(
            key=category,
            label=str(Category(category).label),
            colour=colour,
            values=[report["by_category"].get(category, 0) for report in months],
        )
        for category, colour in CATEGORY_COLOURS.items()
    ]
    title = _("Requests by category, month by month, over the last 24 months")
    return charts.stacked_bars(title, [label(m) for m in data.window], series)


def _status_totals(data) -> list[tuple[str, int]]:
    totals = dict.fromkeys(STATUS_ORDER, 0)
    for month in data.window:
        for status, count in data.by_month.get(month, ZERO)["by_service_status"].items():
            totals[status] = totals.get(status, 0) + count
    return [(str(ServiceStatus(status).label), totals[status]) for status in STATUS_ORDER]


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = dashboard_data()
    context = {"data": data, "is_admin": has_role(request.user, Role.ADMIN)}
    if data.latest:
        statuses = _status_totals(data)
        context.update(
            figures=data.latest.data,
            category_chart=_category_chart(data),
            category_rows=[
                (label(month), data.by_month.get(month, ZERO)["by_category"])
                for month in data.window
            ],
            statuses=statuses,
            status_chart=charts.horizontal_bars(
                _("Service status of potential deserters over the last 24 months"),
                statuses,
                "#6f42c1",
            ),
        )
    return render(request, "reports/dashboard.html", context)


def _month_or_404(month: str):
    try:
        return parse_month(month)
    except BadMonth:
        raise Http404 from None


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def month_report(request: HttpRequest, month: str) -> HttpResponse:
    report = MonthlyReport.objects.filter(month=_month_or_404(month)).first()
    if report is None:
        raise Http404
    data = report.data
    return render(
        request,
        "reports/month.html",
        {
            "report": report,
            "figures": data,
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
    months = [label(month) for month in months_with_requests()]
    for month in months:
        generate_monthly_report.delay(month)
    record("report.regenerate", actor=request.user, target="all", months=len(months))
    messages.success(
        request, _("%(count)s monthly reports are being generated.") % {"count": len(months)}
    )
    return redirect("reports:dashboard")


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
        choices=[("csv", "CSV"), ("json", "JSON")],
        widget=forms.RadioSelect,
    )
    min_cell = forms.IntegerField(
        label=gettext_lazy("Smallest published count"),
        min_value=2,
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

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            check_request(
                data["from_month"], data["to_month"], data["file_format"], data["min_cell"]
            )
        except ExportRefused as refusal:
            field, message = self.REFUSALS.get(refusal.code, (None, str(refusal)))
            self.add_error(field, message)
        return data


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(Role.ADMIN)
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
        "min_cell": DEFAULT_MIN_CELL,
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
        )
    except ExportRefused as refusal:  # the month turned over since the form was checked
        form.add_error(None, str(refusal))
        return render(request, "reports/export.html", {"form": form}, status=400)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response

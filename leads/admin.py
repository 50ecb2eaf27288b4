"""The managers' pages of traffic and leads: clicks, impressions, leads and their history.

Nothing here is edited through raw form fields: clicks and impressions are facts, and a
lead changes only through the actions, which call the same services as postbacks and
the API, so every change leaves an event. IPs (columns, IP-named parameters, screening
details) are shown through leads.privacy, obfuscated where the integration's privacy is on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.permissions import (
    OrganizationScopedInline,
    ReadOnlyAdmin,
    can_edit,
    organization_of,
)
from config.masking import mask_secret
from config.money import format_money
from config.replica import read_reports
from ingest.models import InboundPostback
from ingest.signing import SECRET_PLACEHOLDER, signing_examples
from leads import selectors
from leads.api import csv_download
from leads.filters import ReportPeriodForm
from leads.models import Click, Impression, Lead, LeadEvent, LeadStatus, Verdict
from leads.privacy import display_ip, display_params
from leads.services import lead_set_status, lead_set_verdict
from leads.statuses import OVERRIDES, synonym_rows
from partners.models import App, TrackingLink


class ReadOnlyInline(OrganizationScopedInline):
    """An inline that shows history: no adding, changing or deleting."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _json_lines(values: dict[str, Any]) -> str:
    if not values:
        return "—"
    return format_html_join(
        "", "<div><code>{}</code>: {}</div>", ((key, value) for key, value in values.items())
    )


class PrivateIpAdmin(ReadOnlyAdmin):
    """Rows of an integration shown with IPs as its privacy allows: never the raw column or JSON."""

    exclude = ("ip", "params", "verdict_details")

    @admin.display(description=gettext_lazy("IP"))
    def shown_ip(self, obj: Any) -> str:
        return display_ip(obj.ip, obj.integration.ip_privacy) or "—"

    @admin.display(description=gettext_lazy("Other parameters"))
    def shown_params(self, obj: Any) -> str:
        return _json_lines(display_params(obj.params, obj.integration.ip_privacy))

    @admin.display(description=gettext_lazy("Screening"))
    def screening(self, obj: Any) -> str:
        """Why it was screened: the verdict, reason code, rule and the values that triggered it."""
        if obj.verdict == Verdict.OK and not obj.verdict_reason:
            return _("Passed")
        details = display_params(obj.verdict_details, obj.integration.ip_privacy)
        rule = str(obj.verdict_rule) if obj.verdict_rule_id else "—"
        return format_html(
            _("<strong>{verdict}</strong> · reason <code>{reason}</code> · rule: {rule}{details}"),
            verdict=obj.get_verdict_display(),
            reason=obj.verdict_reason or "—",
            rule=rule,
            details=_json_lines(details),
        )


@admin.register(Click)
class ClickAdmin(PrivateIpAdmin):
    """Clicks: searchable by our click id and the partner's."""

    list_display = (
        "click_id",
        "created_at",
        "partner",
        "offer",
        "link",
        "sub1",
        "country",
        "device_type",
        "shown_ip",
        "verdict",
        "verdict_reason",
    )
    list_filter = (
        "verdict",
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("offer", admin.RelatedOnlyFieldListFilter),
        "device_type",
        "country",
    )
    search_fields = ("=click_id", "=partner_click_id", "=ref_id")
    list_select_related = ("partner", "offer", "link", "integration")
    readonly_fields = ("shown_ip", "shown_params", "screening")
    date_hierarchy = "created_at"
    # Clicks run to millions of rows: no COUNT(*) of the whole table on every page.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("verdict_rule")


@admin.register(Impression)
class ImpressionAdmin(PrivateIpAdmin):
    """Impressions: searchable by the partner's click id."""

    exclude = ("ip", "params")
    readonly_fields = ("shown_ip", "shown_params")
    list_display = ("id", "created_at", "partner", "offer", "link", "country", "device_type", "shown_ip")
    list_filter = (
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("offer", admin.RelatedOnlyFieldListFilter),
        "device_type",
        "country",
    )
    search_fields = ("=partner_click_id",)
    list_select_related = ("partner", "offer", "link", "integration")
    date_hierarchy = "created_at"
    show_full_result_count = False


class LeadEventInline(ReadOnlyInline, admin.TabularInline):
    """The lead's history: every change of status, goal or money."""

    model = LeadEvent
    fields = readonly_fields = (
        "created_at",
        "kind",
        "source",
        "actor",
        "from_status",
        "to_status",
        "from_goal",
        "to_goal",
        "from_payout",
        "to_payout",
        "from_revenue",
        "to_revenue",
        "inbound",
        "note",
    )
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor", "inbound")


class InboundPostbackInline(ReadOnlyInline, admin.TabularInline):
    """The postbacks that touched the lead, IP-named parameters as the lead's integration shows them."""

    model = InboundPostback
    fk_name = "lead"
    fields = readonly_fields = ("received_at", "endpoint", "outcome", "http_status", "reason", "shown_params")
    verbose_name_plural = gettext_lazy("inbound postbacks that touched this lead")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("lead__integration")

    @admin.display(description=gettext_lazy("Parameters"))
    def shown_params(self, obj: InboundPostback) -> str:
        return _json_lines(display_params(obj.params, obj.lead.integration.ip_privacy))


def _status_action(
    status: str, name: str, description: str | Promise, changed_message: Callable[[int], str]
) -> Callable[..., None]:
    """A bulk status action; `changed_message(n)` says, in the plural n asks for, what it did."""

    @admin.action(description=description, permissions=["change"])
    def act(modeladmin: LeadAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        changed = sum(
            lead_set_status(lead=lead, status=status, source=LeadEvent.Source.ADMIN, actor=request.user)
            for lead in queryset
        )
        message = changed_message(changed) % {"count": changed}
        if unchanged := len(queryset) - changed:
            message += " " + ngettext(
                "%(count)d was already %(status)s.", "%(count)d were already %(status)s.", unchanged
            ) % {"count": unchanged, "status": LeadStatus(status).label.lower()}
        modeladmin.message_user(request, message, messages.SUCCESS)

    act.__name__ = name
    return act


def _verdict_action(verdict: str, description: str | Promise) -> Callable[..., None]:
    @admin.action(description=description, permissions=["change"])
    def act(modeladmin: LeadAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        changed = sum(
            lead_set_verdict(lead=lead, verdict=verdict, source=LeadEvent.Source.ADMIN, actor=request.user)
            for lead in queryset
        )
        message = ngettext("%(count)d lead now %(verdict)s.", "%(count)d leads now %(verdict)s.", changed)
        modeladmin.message_user(
            request, message % {"count": changed, "verdict": Verdict(verdict).label.lower()}, messages.SUCCESS
        )

    act.__name__ = f"verdict_{verdict}_leads"
    return act


@admin.register(Lead)
class LeadAdmin(PrivateIpAdmin):
    """Leads: filters, search by exto or click id, bulk approve / cancel / trash, verdict overrides."""

    list_display = (
        "id",
        "created_at",
        "status",
        "goal",
        "offer",
        "partner",
        "payout_shown",
        "revenue_shown",
        "payout_base_shown",
        "exto",
        "click",
        "source",
        "country",
        "as_org",
        "verdict",
        "verdict_reason",
        "third_party_status",
    )
    list_filter = (
        "status",
        ("goal", admin.RelatedOnlyFieldListFilter),
        ("offer", admin.RelatedOnlyFieldListFilter),
        ("partner", admin.RelatedOnlyFieldListFilter),
        "verdict",
        "verdict_reason",
        "country",
    )
    search_fields = ("=exto", "=click__click_id", "=source")
    list_select_related = ("goal", "offer", "partner", "click", "integration")
    exclude = ("params", "verdict_details", "fx_rate")
    readonly_fields = ("screening", "shown_params", "exchange_rate")
    date_hierarchy = "created_at"
    inlines = (LeadEventInline, InboundPostbackInline)
    actions = (
        _status_action(
            LeadStatus.APPROVED,
            "approve_leads",
            gettext_lazy("Approve selected leads"),
            lambda n: ngettext("%(count)d lead approved.", "%(count)d leads approved.", n),
        ),
        _status_action(
            LeadStatus.CANCELLED,
            "cancel_leads",
            gettext_lazy("Cancel selected leads"),
            lambda n: ngettext("%(count)d lead cancelled.", "%(count)d leads cancelled.", n),
        ),
        _status_action(
            LeadStatus.TRASH,
            "trash_leads",
            gettext_lazy("Trash selected leads"),
            lambda n: ngettext("%(count)d lead trashed.", "%(count)d leads trashed.", n),
        ),
        _verdict_action(Verdict.OK, gettext_lazy("Override verdict: pass selected leads")),
        _verdict_action(Verdict.FLAGGED, gettext_lazy("Override verdict: flag selected leads")),
        _verdict_action(
            Verdict.REJECTED, gettext_lazy("Override verdict: reject selected leads (no payout)")
        ),
    )

    @admin.display(description=gettext_lazy("Payout"), ordering="payout")
    def payout_shown(self, lead: Lead) -> str:
        return format_money(lead.payout, lead.currency)

    @admin.display(description=gettext_lazy("Revenue"), ordering="revenue")
    def revenue_shown(self, lead: Lead) -> str:
        return format_money(lead.revenue, lead.currency)

    @admin.display(description=gettext_lazy("Payout in base"), ordering="payout_base")
    def payout_base_shown(self, lead: Lead) -> str:
        """What reports add up: the payout at the rate frozen at conversion."""
        return format_money(lead.payout_base, lead.base_currency) if lead.base_currency else "—"

    @admin.display(description=gettext_lazy("Exchange rate"))
    def exchange_rate(self, lead: Lead) -> str:
        """The rate frozen at conversion, as many digits as it has (1.0825, not 1.0825000000)."""
        if lead.fx_rate is None:
            return "—"
        return f"1 {lead.currency} = {lead.fx_rate.normalize():f} {lead.base_currency}"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("verdict_rule")

    def get_urls(self) -> list[URLPattern]:
        reference = path(
            "postback-reference/",
            self.admin_site.admin_view(self.postback_reference),
            name="leads_lead_postback_reference",
        )
        report = path(
            "screening-report/",
            self.admin_site.admin_view(self.screening_report),
            name="leads_lead_screening_report",
        )
        return [reference, report, *super().get_urls()]

    def screening_report(self, request: HttpRequest) -> HttpResponse:
        """Flagged and rejected clicks and leads of a period by partner, offer, source and reason; CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied(_("Your account has no access to this organization."))
        period = ReportPeriodForm(request.GET)
        rows: list[dict[str, Any]] = []
        if period.is_valid():
            since, until = period.bounds()
            organization = organization_of(request.user)
            rows = read_reports(
                lambda using: selectors.screening_report(organization, since=since, until=until, using=using)
            )
            if period.cleaned_data["export"] == "csv":
                return csv_download(rows, period)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Screening report"),
            "opts": self.model._meta,
            "period": period,
            "rows": rows,
            "columns": selectors.REPORT_COLUMNS,
            "csv_query": _csv_query(request),
            "changelist_url": reverse("admin:leads_lead_changelist"),
        }
        return TemplateResponse(request, "admin/leads/lead/screening_report.html", context)

    def postback_reference(self, request: HttpRequest) -> HttpResponse:
        """Endpoints, parameters, the status synonym table and ready examples for each app."""
        if not self.has_view_permission(request):
            raise PermissionDenied(_("Your account has no access to this organization."))
        apps = App.objects.filter(organization=organization_of(request.user)).order_by("name")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Postback reference"),
            "opts": self.model._meta,
            "base_url": settings.PUBLIC_BASE_URL,
            "synonyms": synonym_rows(),
            "overrides": [(name, LeadStatus(status).label) for name, status in OVERRIDES.items()],
            "apps": [_app_examples(app, show_token=can_edit(request.user)) for app in apps],
            "can_edit": can_edit(request.user),
            "tolerance": settings.SIGNED_REQUEST_TOLERANCE_SECONDS,
            "secret_placeholder": SECRET_PLACEHOLDER,
        }
        return TemplateResponse(request, "admin/leads/lead/postback_reference.html", context)


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["export"] = "csv"
    return query.urlencode()


def _app_examples(app: App, *, show_token: bool) -> dict[str, Any]:
    """The seed's examples for one app, with its token (masked for read-only staff), and how to sign."""
    token = app.token if show_token else mask_secret(app.token)
    link = TrackingLink.objects.filter(offer__app=app).order_by("id").first()
    base = settings.PUBLIC_BASE_URL
    lead, status = f"{base}/api/site/click.json?token={token}", f"{base}/api/site/status.json?token={token}"
    examples = [
        (_("Create a lead with your unique id"), f"{lead}&click={{click}}&exto={{lead_id}}"),
        (_("Create a lead for a goal (code or alias)"), f"{lead}&click={{click}}&goal={{goal}}"),
        (_("Status, with your own approve word"), f"{status}&click={{click}}&status={{status}}&sta=lead_ok"),
        (_("One postback for all statuses"), f"{status}&click={{click}}&status={{status}}&stn=new"),
        (_("Advertiser's payout and currency"), f"{lead}&click={{click}}&pay={{payout}}&cc={{currency}}"),
    ]
    if link is not None:
        examples += [
            (_("Without a click id: flow id"), f"{lead}&flow={link.pk}&exto={{lead_id}}"),
            (_("Without a click id: flow code"), f"{lead}&code={link.code}&exto={{lead_id}}"),
        ]
    signing = _signing(app, token, link, show_token)
    return {"app": app, "token": token, "examples": examples, "signing": signing}


def _signing(app: App, token: str, link: TrackingLink | None, show_secret: bool) -> dict[str, Any]:
    """How this app's sender signs a lead postback: its secret for editors, a placeholder otherwise."""
    secret = app.readable_inbound_secret() if show_secret else ""
    key = {"flow": str(link.pk)} if link is not None else {"click": "CLICK_ID"}
    params = {**key, "exto": "LEAD_ID", "token": token}
    return {
        "required": app.signing_required,
        "has_secret": bool(secret),
        **signing_examples(
            endpoint=f"{settings.PUBLIC_BASE_URL}/postback/lead",
            params=params,
            secret=secret or SECRET_PLACEHOLDER,
        ),
    }

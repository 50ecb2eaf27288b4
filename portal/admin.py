"""Managers' side of the portal: payout runs and payouts, access requests and sign-ups to approve."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import OrganizationScopedAdmin, can_edit, organization_of
from config.money import format_money
from portal import exports, selectors, services
from portal.forms import MarkPaidForm, PaymentMethodAdminForm, PayoutRunForm
from portal.models import OfferAccessRequest, PaymentMethod, Payout, PayoutRun, PublisherSignup
from portal.services import (
    AccessNotGranted,
    access_request_approve,
    access_request_reject,
    payout_mark_paid,
    signup_decide,
)


def _download(content: str | bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(PayoutRun)
class PayoutRunAdmin(OrganizationScopedAdmin):
    """Create a run, review its payouts and warnings, export its files, mark it paid: all on one page."""

    list_display = ["__str__", "created_at", "status", "payout_count", "total", "created_by", "paid_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutRun]:
        return super().get_queryset(request).annotate(n=Count("payouts"), amount=Sum("payouts__amount"))

    @admin.display(description=gettext_lazy("Payouts"), ordering="n")
    def payout_count(self, run: PayoutRun) -> int:
        return run.n  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("Total"))
    def total(self, run: PayoutRun) -> str:
        return format_money(run.amount, run.organization.currency) if run.amount is not None else "—"  # type: ignore[attr-defined]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_edit(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a draft is discarded from its page (its leads freed); others are history

    def get_urls(self) -> list[URLPattern]:
        def view(name: str, route: str, method: Any) -> URLPattern:
            return path(route, self.admin_site.admin_view(method), name=f"portal_payoutrun_{name}")

        return [
            view("paypal", "<int:pk>/paypal/<str:currency>/", self.export_paypal),
            view("sepa", "<int:pk>/sepa/", self.export_sepa),
            view("pay", "<int:pk>/pay/", require_POST(self.mark_paid)),
            view("discard", "<int:pk>/discard/", require_POST(self.discard)),
            view("debtor", "<int:pk>/debtor/", require_POST(self.set_debtor)),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied(_("Only admins and managers can create payout runs."))
        organization = organization_of(request.user)
        candidates = selectors.run_candidates(organization)
        initial = {
            "debtor_name": settings.PAYOUT_DEBTOR_NAME,
            "debtor_iban": settings.PAYOUT_DEBTOR_IBAN,
            "debtor_bic": settings.PAYOUT_DEBTOR_BIC,
        }
        form = PayoutRunForm(request.POST or None, candidates=candidates, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                run = services.payout_run_create(
                    organization=organization,
                    actor=request.user,
                    partner_ids=data["partners"] or None,
                    debtor_name=data["debtor_name"],
                    debtor_iban=data["debtor_iban"],
                    debtor_bic=data["debtor_bic"],
                )
            except ValidationError as refusal:
                form.add_error(None, refusal)
            except IntegrityError:
                form.add_error(None, _("Another run took some of these leads at the same moment: try again."))
            else:
                self.message_user(
                    request,
                    _("%(run)s created: review it, export its files, then mark it paid.") % {"run": run},
                )
                return redirect("admin:portal_payoutrun_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("New payout run"),
            "opts": self.model._meta,
            "form": form,
            "candidates": candidates,
            "organization": organization,
        }
        return TemplateResponse(request, "admin/portal/payoutrun/create.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        run = self.get_object(request, object_id)
        if not self.has_view_permission(request, run):
            raise PermissionDenied(_("Your account has no access to this organization."))
        rows = selectors.run_payouts(run)
        context = {
            **self.admin_site.each_context(request),
            "title": str(run),
            "opts": self.model._meta,
            "run": run,
            "rows": rows,
            "total": sum((row.payout.amount for row in rows), 0),
            "paypal_currencies": sorted({row.payout.currency for row in rows if row.channel == "paypal"}),
            "has_sepa": any(row.channel == "sepa" for row in rows),
            "can_edit": can_edit(request.user),
            "pay_form": MarkPaidForm(),
        }
        return TemplateResponse(request, "admin/portal/payoutrun/review.html", context)

    def _editable_run(self, request: HttpRequest, pk: int) -> PayoutRun:
        if not can_edit(request.user):
            raise PermissionDenied(_("Only admins and managers can export or pay payout runs."))
        return self.get_object(request, str(pk))

    def export_paypal(self, request: HttpRequest, pk: int, currency: str) -> HttpResponse:
        run = self._editable_run(request, pk)
        content = exports.paypal_csv(run, currency)
        services.payout_run_exported(run=run)
        return _download(content, f"payout-run-{run.pk}-paypal-{currency}.csv", "text/csv")

    def export_sepa(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._editable_run(request, pk)
        try:
            content = exports.sepa_xml(run)
        except ValidationError as refusal:
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
            return redirect("admin:portal_payoutrun_change", run.pk)
        services.payout_run_exported(run=run)
        return _download(content, f"payout-run-{run.pk}-sepa.xml", "application/xml")

    def mark_paid(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._editable_run(request, pk)
        form = MarkPaidForm(request.POST)
        try:
            if not form.is_valid():
                raise services.RunRefused(" ".join(form.errors.get("reference", [])))
            paid = services.payout_run_mark_paid(
                run=run, actor=request.user, reference=form.cleaned_data["reference"]
            )
        except ValidationError as refusal:
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
        else:
            self.message_user(
                request, _("%(paid)d payout(s) marked paid.") % {"paid": paid}, messages.SUCCESS
            )
        return redirect("admin:portal_payoutrun_change", run.pk)

    def discard(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._editable_run(request, pk)
        try:
            services.payout_run_discard(run=run)
        except ValidationError as refusal:
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
            return redirect("admin:portal_payoutrun_change", run.pk)
        self.message_user(request, _("Run discarded: its leads wait for the next run."))
        return redirect("admin:portal_payoutrun_changelist")

    def set_debtor(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._editable_run(request, pk)
        form = PayoutRunForm(request.POST, candidates=[])
        if form.is_valid():
            data = form.cleaned_data
            services.payout_run_set_debtor(
                run=run, name=data["debtor_name"], iban=data["debtor_iban"], bic=data["debtor_bic"]
            )
            self.message_user(request, _("Debtor account saved."))
        else:
            errors = [message for field in form.errors.values() for message in field]
            self.message_user(request, " ".join(errors), messages.ERROR)
        return redirect("admin:portal_payoutrun_change", run.pk)


@admin.register(Payout)
class PayoutAdmin(OrganizationScopedAdmin):
    list_display = ["requested_at", "partner", "amount", "currency", "status", "run", "method", "paid_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["partner", "run"]
    search_fields = ["partner__name", "method", "reference"]
    date_hierarchy = "requested_at"
    readonly_fields = [
        "partner",
        "amount",
        "currency",
        "method",
        "requested_by",
        "requested_at",
        "paid_at",
        "paid_by",
        "run",
        "statement",
    ]
    fields = [*readonly_fields, "status", "reference"]
    actions = ["mark_paid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Payout | None = None) -> list[str]:
        # A run's payout changes with its run (paid, discarded), so its leads stay linked rightly.
        if obj is not None and obj.run_id:
            return [*self.readonly_fields, "status", "reference"]
        return list(self.readonly_fields)

    def get_urls(self) -> list[URLPattern]:
        statement = path(
            "<int:pk>/statement/",
            self.admin_site.admin_view(self.statement_csv),
            name="portal_payout_statement",
        )
        return [statement, *super().get_urls()]

    @admin.display(description=gettext_lazy("Statement"))
    def statement(self, payout: Payout) -> str:
        if not payout.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:portal_payout_statement", args=[payout.pk]),
            _("Download the statement (CSV)"),
        )

    def statement_csv(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The payout's leads, as the publisher downloads them from Payments."""
        if not self.has_view_permission(request):
            raise PermissionDenied(_("Your account has no access to this organization."))
        payout = self.get_object(request, str(pk))
        return _download(exports.statement_csv(payout), f"payout-{payout.pk}-statement.csv", "text/csv")

    @admin.action(description=gettext_lazy("Mark selected payouts paid"), permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        paid = sum(payout_mark_paid(payout=payout, actor=request.user) for payout in queryset)
        self.message_user(
            request,
            _("%(paid)d payout(s) marked paid; others were not waiting.") % {"paid": paid},
            messages.SUCCESS,
        )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(OrganizationScopedAdmin):
    """Payment methods with the portal's checks (IBAN, BIC); the publisher is chosen when adding."""

    organization_field = "partner__organization"
    form = PaymentMethodAdminForm
    list_display = ["partner", "kind", "summary", "updated_at"]
    list_filter = ["kind"]
    list_select_related = ["partner"]
    search_fields = ["partner__name", "paypal_email", "iban", "wallet_address"]

    def get_readonly_fields(self, request: HttpRequest, obj: PaymentMethod | None = None) -> list[str]:
        # Adding one needs the publisher (issue 14: a read-only partner left partner_id null, a 500).
        return ["partner", "updated_at"] if obj else ["updated_at"]

    def save_model(self, request: HttpRequest, obj: PaymentMethod, form: Any, change: bool) -> None:
        details = {
            name: form.cleaned_data.get(name, "")
            for names in PaymentMethod.DETAILS.values()
            for name in names
        }
        saved = services.payment_method_set(partner=obj.partner, kind=obj.kind, **details)
        obj.pk = saved.pk


@admin.register(OfferAccessRequest)
class OfferAccessRequestAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "partner", "offer", "status", "note", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["partner", "offer"]
    search_fields = ["partner__name", "offer__name"]
    readonly_fields = ["partner", "offer", "message", "status", "created_at", "decided_at", "decided_by"]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(
        description=gettext_lazy("Approve: create the publisher's tracking link"), permissions=["change"]
    )
    def approve(self, request: HttpRequest, queryset: QuerySet[OfferAccessRequest]) -> None:
        for access_request in queryset.select_related("partner", "offer"):
            try:
                access_request_approve(access_request=access_request, actor=request.user)
            except AccessNotGranted as refusal:
                self.message_user(request, str(refusal), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(partner)s may now run %(offer)s.")
                    % {"partner": access_request.partner, "offer": access_request.offer},
                )

    @admin.action(description=gettext_lazy("Reject selected requests"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[OfferAccessRequest]) -> None:
        for access_request in queryset:
            access_request_reject(access_request=access_request, actor=request.user)
        self.message_user(request, _("Requests rejected."))


@admin.register(PublisherSignup)
class PublisherSignupAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "partner", "referrer", "website", "status", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["partner", "referrer"]
    search_fields = ["partner__name", "referrer__name", "website"]
    readonly_fields = ["partner", "referrer", "website", "status", "created_at", "decided_at", "decided_by"]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=gettext_lazy("Approve: let these publishers log in"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[PublisherSignup]) -> None:
        approved = sum(signup_decide(signup=s, approve=True, actor=request.user) for s in queryset)
        self.message_user(request, _("%(approved)d publisher(s) approved.") % {"approved": approved})

    @admin.action(description=gettext_lazy("Reject selected sign-ups"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[PublisherSignup]) -> None:
        rejected = sum(signup_decide(signup=s, approve=False, actor=request.user) for s in queryset)
        self.message_user(request, _("%(rejected)d sign-up(s) rejected.") % {"rejected": rejected})

"""Managers' side of the portal: payouts to mark paid, access requests and sign-ups to approve."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.permissions import OrganizationScopedAdmin
from portal.models import OfferAccessRequest, PaymentMethod, Payout, PublisherSignup
from portal.services import (
    AccessNotGranted,
    access_request_approve,
    access_request_reject,
    payout_mark_paid,
    signup_decide,
)


@admin.register(Payout)
class PayoutAdmin(OrganizationScopedAdmin):
    list_display = ["requested_at", "partner", "amount", "currency", "status", "method", "paid_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["partner"]
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
    ]
    fields = [*readonly_fields, "status", "reference"]
    actions = ["mark_paid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark selected payouts paid", permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        paid = sum(payout_mark_paid(payout=payout, actor=request.user) for payout in queryset)
        self.message_user(
            request, f"{paid} payout(s) marked paid; others were not waiting.", messages.SUCCESS
        )


@admin.register(PaymentMethod)
class PaymentMethodAdmin(OrganizationScopedAdmin):
    organization_field = "partner__organization"
    list_display = ["partner", "kind", "summary", "updated_at"]
    list_filter = ["kind"]
    list_select_related = ["partner"]
    search_fields = ["partner__name", "paypal_email", "iban", "wallet_address"]
    readonly_fields = ["partner", "updated_at"]


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

    @admin.action(description="Approve: create the publisher's tracking link", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[OfferAccessRequest]) -> None:
        for access_request in queryset.select_related("partner", "offer"):
            try:
                access_request_approve(access_request=access_request, actor=request.user)
            except AccessNotGranted as refusal:
                self.message_user(request, str(refusal), messages.ERROR)
            else:
                self.message_user(request, f"{access_request.partner} may now run {access_request.offer}.")

    @admin.action(description="Reject selected requests", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[OfferAccessRequest]) -> None:
        for access_request in queryset:
            access_request_reject(access_request=access_request, actor=request.user)
        self.message_user(request, "Requests rejected.")


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

    @admin.action(description="Approve: let these publishers log in", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[PublisherSignup]) -> None:
        approved = sum(signup_decide(signup=s, approve=True, actor=request.user) for s in queryset)
        self.message_user(request, f"{approved} publisher(s) approved.")

    @admin.action(description="Reject selected sign-ups", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[PublisherSignup]) -> None:
        rejected = sum(signup_decide(signup=s, approve=False, actor=request.user) for s in queryset)
        self.message_user(request, f"{rejected} sign-up(s) rejected.")

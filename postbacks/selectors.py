"""Reads of the outbox: deliveries and CleverTap destinations, scoped to one organization."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from partners.models import Partner
from postbacks.models import CleverTapDestination, Delivery


def deliveries_for(organization: Organization | None) -> QuerySet[Delivery]:
    """An organization's deliveries, newest first, with what their lists show."""
    if organization is None:
        return Delivery.objects.none()
    return (
        Delivery.objects.filter(organization=organization)
        .select_related("lead", "partner", "app")
        .order_by("-created_at", "-id")
    )


def deliveries_of_publisher(partner: Partner) -> QuerySet[Delivery]:
    """A publisher's own postbacks (its portal's log), newest first."""
    return Delivery.objects.filter(
        organization_id=partner.organization_id, partner=partner, kind=Delivery.Kind.PUBLISHER
    ).order_by("-created_at", "-id")


def clevertap_destinations_for(organization: Organization | None) -> QuerySet[CleverTapDestination]:
    """An organization's CleverTap destinations, by app."""
    if organization is None:
        return CleverTapDestination.objects.none()
    return CleverTapDestination.objects.filter(organization=organization).select_related("app")

"""Filters of deliveries, shared by the management API and any page that lists them."""

from __future__ import annotations

import django_filters

from postbacks.models import Delivery


def _by_id(field: str) -> django_filters.NumberFilter:
    """Related objects by id: a plain number, so no form ever lists another organization's rows."""
    return django_filters.NumberFilter(field_name=f"{field}_id")


class DeliveryFilter(django_filters.FilterSet):
    """Deliveries by kind, state, event, lead, integration, partner, app and time range."""

    kind = django_filters.MultipleChoiceFilter(choices=Delivery.Kind.choices)
    state = django_filters.MultipleChoiceFilter(choices=Delivery.State.choices)
    lead = _by_id("lead")
    integration = _by_id("integration")
    partner = _by_id("partner")
    app = _by_id("app")
    created_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = Delivery
        fields = ["kind", "state", "event", "lead", "integration", "partner", "app"]

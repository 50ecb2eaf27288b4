"""One FilterSet per model, shared by the management API and the pages.

Filters on a related object offer only the requesting user's organization's rows: an id
of another organization is an invalid choice, exactly like an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from accounts.permissions import organization_of
from partners import selectors
from partners.models import (
    App,
    Cap,
    Channel,
    Goal,
    GoalAlias,
    Integration,
    Offer,
    Partner,
    ScreeningRule,
    SmartLink,
    SourceListEntry,
    TrackingLink,
)


def _scoped(selector: Callable[[Any], QuerySet]) -> Callable[[Any], QuerySet]:
    """A ModelChoiceFilter queryset: the selector's rows for the request's organization.

    Choices need the rows alone, not what the API prefetches to show them.
    """

    def queryset(request: Any) -> QuerySet:
        user = getattr(request, "user", None)
        return selector(organization_of(user)).prefetch_related(None)

    return queryset


class AppFilterSet(django_filters.FilterSet):
    """Apps by platform and by part of the name."""

    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = App
        fields = ["platform", "name"]


class ChannelFilterSet(django_filters.FilterSet):
    """Channels by part of the name."""

    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Channel
        fields = ["name"]


class PartnerFilterSet(django_filters.FilterSet):
    """Partners by kind (custom or built-in), status and part of the name."""

    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Partner
        fields = ["kind", "status", "name"]


class IntegrationFilterSet(django_filters.FilterSet):
    """Integrations by app, partner, channel and status."""

    app = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.apps_for))
    partner = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.partners_for))
    channel = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.channels_for))

    class Meta:
        model = Integration
        fields = ["app", "partner", "status", "channel"]


class OfferFilterSet(django_filters.FilterSet):
    """Offers by app, type, status, visibility and category."""

    app = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.apps_for))
    category = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Offer
        fields = ["app", "type", "status", "visibility", "category"]


class GoalFilterSet(django_filters.FilterSet):
    """Goals by offer, and by a code that is the goal's main code or one of its aliases."""

    offer = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.offers_for))
    code = django_filters.CharFilter(method="filter_code", label="Code or alias")

    class Meta:
        model = Goal
        fields = ["offer", "code"]

    def filter_code(self, queryset: QuerySet[Goal], name: str, value: str) -> QuerySet[Goal]:
        # A subquery rather than a join: joining aliases would repeat a goal once per alias.
        aliased = GoalAlias.objects.filter(code=value).values("goal_id")
        return queryset.filter(Q(code=value) | Q(pk__in=aliased))


class TrackingLinkFilterSet(django_filters.FilterSet):
    """Tracking links by partner, offer, status and symbolic code."""

    partner = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.partners_for))
    offer = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.offers_for))
    code = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = TrackingLink
        fields = ["partner", "offer", "status", "code"]


class SmartLinkFilterSet(django_filters.FilterSet):
    """Smart links by partner, mode, status and code."""

    partner = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.partners_for))
    code = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = SmartLink
        fields = ["partner", "mode", "status", "code"]


class ScreeningRuleFilterSet(django_filters.FilterSet):
    """Screening filters by integration, kind, action, reason code and whether they are active."""

    integration = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.integrations_for))

    class Meta:
        model = ScreeningRule
        fields = ["integration", "kind", "action", "reason_code", "is_active"]


class SourceListEntryFilterSet(django_filters.FilterSet):
    """Source list entries by integration, list (black or white) and source."""

    integration = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.integrations_for))

    class Meta:
        model = SourceListEntry
        fields = ["integration", "list", "source"]


class CapFilterSet(django_filters.FilterSet):
    """Caps by offer, partner, goal, metric, period and whether they are active."""

    offer = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.offers_for))
    partner = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.partners_for))
    goal = django_filters.ModelChoiceFilter(queryset=_scoped(selectors.goals_for))

    class Meta:
        model = Cap
        fields = ["offer", "partner", "goal", "metric", "period", "is_active"]

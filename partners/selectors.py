"""Reads of the configuration side, each starting from one organization.

Every queryset the API, the admin pages and the portal show comes from here, so no read
can cross organizations. The select_related / prefetch_related calls are the ones the
API's representations need: a list costs the same number of queries for 5 rows as for 50.
No organization (a user without a membership) reads nothing.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Organization
from partners.models import (
    App,
    Cap,
    Channel,
    Goal,
    Integration,
    Landing,
    Offer,
    Partner,
    PostbackTemplate,
    SmartLink,
    SmartLinkEntry,
    TrackingLink,
    TrackingParameter,
)


def apps_for(organization: Organization | None) -> QuerySet[App]:
    return App.objects.filter(organization=organization)


def channels_for(organization: Organization | None) -> QuerySet[Channel]:
    return Channel.objects.filter(organization=organization)


def partners_for(organization: Organization | None) -> QuerySet[Partner]:
    return Partner.objects.filter(organization=organization).select_related("default_channel")


def integrations_for(organization: Organization | None) -> QuerySet[Integration]:
    """Integrations with what their page shows: parameters, postbacks and links with URLs."""
    return (
        Integration.objects.filter(organization=organization)
        .select_related("app", "partner", "channel")
        .prefetch_related(
            Prefetch("parameters", queryset=TrackingParameter.objects.order_by("position", "id")),
            Prefetch("postback_templates", queryset=PostbackTemplate.objects.select_related("goal")),
            Prefetch("links", queryset=TrackingLink.objects.select_related("offer").order_by("id")),
        )
    )


def offers_for(organization: Organization | None) -> QuerySet[Offer]:
    return (
        Offer.objects.filter(organization=organization)
        .select_related("app")
        .prefetch_related("landings", "creatives")
    )


def offers_of(app: App) -> QuerySet[Offer]:
    return Offer.objects.filter(app=app)


def landings_for(organization: Organization | None) -> QuerySet[Landing]:
    return Landing.objects.filter(offer__organization=organization).select_related("offer")


def goals_for(organization: Organization | None) -> QuerySet[Goal]:
    return Goal.objects.filter(offer__organization=organization).prefetch_related("aliases")


def smart_links_for(organization: Organization | None) -> QuerySet[SmartLink]:
    """Smart links with their partner and entries (in priority order)."""
    return (
        SmartLink.objects.filter(organization=organization)
        .select_related("partner")
        .prefetch_related(Prefetch("entries", queryset=SmartLinkEntry.objects.order_by("priority", "id")))
    )


def links_for(organization: Organization | None) -> QuerySet[TrackingLink]:
    """Tracking links with the integration parameters their click and impression URLs carry."""
    return (
        TrackingLink.objects.filter(organization=organization)
        .select_related("integration", "partner", "offer", "landing")
        .prefetch_related(
            Prefetch(
                "integration__parameters",
                queryset=TrackingParameter.objects.order_by("position", "id"),
            )
        )
    )


def integration_of(*, organization: Organization | None, app: App, partner: Partner) -> Integration | None:
    """The integration connecting `partner` to `app`, if they are connected."""
    return (
        Integration.objects.filter(organization=organization, app=app, partner=partner)
        .select_related("organization", "partner")
        .first()
    )


def other_goals_of(offer: Offer, *, excluding: Goal | None = None) -> QuerySet[Goal]:
    """The offer's goals with their aliases, except `excluding`: the codes a goal must not reuse."""
    goals = Goal.objects.filter(offer=offer).prefetch_related("aliases")
    if excluding is not None:
        goals = goals.exclude(pk=excluding.pk)
    return goals


def caps_for(organization: Organization | None) -> QuerySet[Cap]:
    """The organization's caps, with what their use and its wording need."""
    return Cap.objects.filter(organization=organization).select_related(
        "organization", "offer", "partner", "goal"
    )

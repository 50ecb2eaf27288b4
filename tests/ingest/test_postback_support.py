"""Builders shared by the postback, conversion, admin and API tests of leads (no tests here).

A "world" is one organization's app with a partner connected to it, an offer with an
`install` default goal and a `registration` goal (alias `reg`), a tracking link, and
helpers to make clicks and to call the ingestion endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.test import Client

from leads.models import Click
from partners.models import App, Goal, Integration, Offer, TrackingLink
from tests.factories import GoalAliasFactory, GoalFactory, IntegrationFactory, TrackingLinkFactory


@dataclass
class World:
    """One app's configuration, ready to receive postbacks."""

    app: App
    integration: Integration
    offer: Offer
    link: TrackingLink
    install: Goal
    registration: Goal

    @property
    def token(self) -> str:
        return self.app.token

    def click(self, **fields: Any) -> Click:
        """A click on this world's tracking link."""
        return make_click(self.link, **fields)

    def url(self, path: str, **params: Any) -> str:
        query = "&".join(f"{key}={value}" for key, value in {"token": self.token, **params}.items())
        return f"{path}?{query}"


def make_click(link: TrackingLink, **fields: Any) -> Click:
    return Click.objects.create(
        organization=link.organization,
        integration=link.integration,
        link=link,
        partner=link.partner,
        offer=link.offer,
        **fields,
    )


def make_world(organization: Any) -> World:
    integration = IntegrationFactory(organization=organization)
    link = TrackingLinkFactory(integration=integration, offer__currency="USD")
    install = GoalFactory(
        offer=link.offer, code="install", payout=Decimal("1.50"), revenue=Decimal("2.00"), is_default=True
    )
    registration = GoalFactory(
        offer=link.offer, code="registration", payout=Decimal("3.00"), revenue=Decimal("5.00")
    )
    GoalAliasFactory(goal=registration, code="reg")
    return World(
        app=integration.app,
        integration=integration,
        offer=link.offer,
        link=link,
        install=install,
        registration=registration,
    )


def get_json(client: Client, url: str) -> tuple[int, dict[str, Any]]:
    response = client.get(url)
    return response.status_code, response.json()

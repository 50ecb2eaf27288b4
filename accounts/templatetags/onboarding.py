"""The onboarding checklist on the admin home: the first steps of a new organization, ticked from its data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import membership_of
from accounts.selectors import publisher_logins_for
from ingest.selectors import inbound_postbacks_for
from partners.selectors import apps_for, integrations_for
from postbacks.models import Delivery
from postbacks.selectors import deliveries_for

register = template.Library()


@dataclass(frozen=True)
class Step:
    """One thing to do: done or not (from the data), and where to do it."""

    key: str
    title: str
    how: str
    url: str
    done: bool


def onboarding_steps(organization: Any) -> list[Step]:
    """Create an app, connect a partner, send a test postback, invite a publisher (one query each)."""
    first_app = apps_for(organization).order_by("pk").values_list("pk", flat=True).first()
    first_integration = (
        integrations_for(organization)
        .prefetch_related(None)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    connect_url = (
        reverse("admin:partners_app_connect", args=[first_app])
        if first_app
        else reverse("admin:partners_app_changelist")
    )
    test_url = (
        reverse("admin:partners_integration_change", args=[first_integration])
        if first_integration
        else reverse("admin:leads_lead_postback_reference")
    )
    tested = (
        deliveries_for(organization).filter(kind=Delivery.Kind.TEST).exists()
        or inbound_postbacks_for(organization).exists()
    )
    return [
        Step(
            "app",
            _("Create an app"),
            _("The product partners bring users to: its name, platform and store id."),
            reverse("admin:partners_app_add"),
            first_app is not None,
        ),
        Step(
            "partner",
            _("Connect a partner"),
            _(
                "An app's hub → Advertising → Connect partner: "
                "the four-step wizard gives the partner its links."
            ),
            connect_url,
            first_integration is not None,
        ),
        Step(
            "postback",
            _("Send a test postback"),
            _(
                "“Send a test” on the integration page, or a first postback from the partner "
                "(see the postback reference for its URL)."
            ),
            test_url,
            tested,
        ),
        Step(
            "publisher",
            _("Invite a publisher"),
            _(
                "Add a publisher login (Organizations and people → Memberships, by an admin), "
                "or approve a portal sign-up."
            ),
            reverse("admin:accounts_membership_add"),
            publisher_logins_for(organization).exists(),
        ),
    ]


@register.inclusion_tag("accounts/partials/onboarding.html", takes_context=True)
def onboarding_checklist(context: dict[str, Any]) -> dict[str, Any]:
    """The checklist for an editor of an organization, until every step is done (then nothing)."""
    membership = membership_of(context["request"].user)
    if membership is None or not membership.can_edit:
        return {"steps": []}
    steps = onboarding_steps(membership.organization)
    if all(step.done for step in steps):
        return {"steps": []}
    return {"steps": steps, "done": sum(step.done for step in steps)}

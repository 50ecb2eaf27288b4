"""Reads of the ingest app, scoped to an organization."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Organization
from ingest.models import InboundPostback
from partners.models import App, Integration


def inbound_postbacks_for(organization: Organization | None) -> QuerySet[InboundPostback]:
    return InboundPostback.objects.filter(organization=organization).select_related(
        "app", "lead", "integration"
    )


def token_organization_id(token: str) -> int | None:
    """The organization an inbound token (an app's or an integration's, current or rotated out)
    belongs to; None when unknown."""
    for model in (App, Integration):
        rows = model.objects.filter(Q(token=token) | Q(previous_token=token))
        found = rows.values_list("organization_id", flat=True).first()
        if found is not None:
            return found
    return None

"""Reads of the ingest app, scoped to an organization."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization
from ingest.models import InboundPostback


def inbound_postbacks_for(organization: Organization | None) -> QuerySet[InboundPostback]:
    return InboundPostback.objects.filter(organization=organization).select_related(
        "app", "lead", "integration"
    )

"""Reads of organizations' people, each starting from one organization."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Membership, Organization, Role


def publisher_logins_for(organization: Organization | None) -> QuerySet[Membership]:
    """The organization's publisher logins (the people who use the portal)."""
    return Membership.objects.filter(organization=organization, role=Role.PUBLISHER)

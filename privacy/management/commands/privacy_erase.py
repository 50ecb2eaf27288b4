"""`manage.py privacy_erase`: erase or anonymize a person's data in one organization.

    manage.py privacy_erase --org acme --device-id 38400000-8cf0-11bd-b23e-10b96e40000d --erase
    manage.py privacy_erase --org acme --ip 203.0.113.0/24 --anonymize --dry-run
    manage.py privacy_erase --org acme --publisher 12 --erase

The operation is recorded (Privacy → Privacy operations in the admin) with the identifier
masked; `--dry-run` only counts.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from partners.models import Partner
from privacy.models import PrivacyOperation
from privacy.redaction import criterion_parse
from privacy.services import privacy_preview, privacy_run


class Command(BaseCommand):
    help = "Erase or anonymize the personal data of a device id, an IP (or network) or a publisher."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organization's slug.")
        whose = parser.add_mutually_exclusive_group(required=True)
        whose.add_argument("--device-id", help="A device id, GAID, IDFA or Android id.")
        whose.add_argument("--ip", help="One address (203.0.113.7) or a network (203.0.113.0/24).")
        whose.add_argument("--publisher", help="The publisher's (partner's) id or exact name.")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--anonymize", action="store_true", help="Truncate IPs, reduce user agents.")
        action.add_argument("--erase", action="store_true", help="Blank every personal field.")
        parser.add_argument("--dry-run", action="store_true", help="Count the rows only; change nothing.")

    def _publisher_id(self, organization: Organization, value: str) -> str:
        partners = Partner.objects.filter(organization=organization)
        found = partners.filter(pk=int(value)) if value.isdigit() else partners.filter(name=value)
        partner = found.first()
        if partner is None:
            raise CommandError(f"{organization.slug} has no publisher {value!r}: give its id or exact name.")
        return str(partner.pk)

    def handle(self, *args: Any, org: str, device_id: str, ip: str, publisher: str, **options: Any) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {org!r}.")
        kind, value = (
            ("device_id", device_id) if device_id else ("ip", ip) if ip else ("publisher", publisher)
        )
        if kind == "publisher":
            value = self._publisher_id(organization, value)
        partner_ids = Partner.objects.filter(organization=organization).values_list("pk", flat=True)
        try:
            criterion = criterion_parse(kind=kind, value=value, partner_ids=partner_ids)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        action = PrivacyOperation.Action.ERASE if options["erase"] else PrivacyOperation.Action.ANONYMIZE
        if options["dry_run"]:
            counts = privacy_preview(organization=organization, criterion=criterion, action=action)
            self.stdout.write(f"Would {action}: {_counts(counts)} (nothing changed).")
            return
        operation = privacy_run(
            organization=organization,
            criterion=criterion,
            action=action,
            channel=PrivacyOperation.Channel.COMMAND,
            actor_name=f"command ({getpass.getuser()})",
        )
        self.stdout.write(
            f"Done ({action}, {operation.criteria}): {_counts(operation.counts)}; operation #{operation.pk}."
        )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())

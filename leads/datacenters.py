"""Data-centre networks: the list the `datacenter` screening rule checks a network against.

SPEC 4.4: traffic from hosting networks (cloud servers, VPN exits) is screened like the other
filters. The list ships with the product (`data/datacenter_networks.txt`: AS numbers and
organization names, because the shipped GeoIP data knows names but no numbers) and each
organization edits it (`partners.DatacenterNetwork`: add a network, exclude a shipped one).

`effective()` resolves an organization's list into plain, picklable data (one query); the
screening configuration embeds it (`leads.linkcache.build_config`), so a click is checked
without reading the database, and saving or deleting an organization's change forgets the
configurations that embed it (`leads.linkcache`). `match()` is one set lookup and one regular
expression.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from partners.models import DatacenterNetwork

SHIPPED_FILE = Path(__file__).parent / "data" / "datacenter_networks.txt"
Change = DatacenterNetwork.Change


@dataclass(frozen=True)
class Entry:
    """One network of a list: its AS number, its organization-name pattern, or both."""

    asn: int | None
    pattern: str
    provider: str = ""

    def named_by(self, asn: int | None, pattern: str) -> bool:
        """Whether an exclusion naming `asn` or `pattern` takes this entry off the list."""
        return (asn is not None and asn == self.asn) or (
            bool(pattern) and pattern.casefold() == self.pattern.casefold()
        )


@cache
def shipped() -> tuple[Entry, ...]:
    """The list shipped with the product, read once per process."""
    entries = []
    for line in SHIPPED_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        number, pattern, provider = (part.strip() for part in line.split("|"))
        entries.append(Entry(int(number) if number.isdigit() else None, pattern, provider))
    return tuple(entries)


def _regex(patterns: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive expression for every name pattern: a whole name must match."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class Networks:
    """An organization's effective list, as the screening configuration carries it."""

    asns: frozenset[int]
    patterns: tuple[str, ...]
    regex: re.Pattern[str] | None

    def match(self, asn: int | None, as_org: str) -> str | None:
        """What matched this network ("AS16509", or the name pattern), or None."""
        if asn is not None and asn in self.asns:
            return f"AS{asn}"
        if not as_org or self.regex is None or not self.regex.match(as_org):
            return None
        return next(p for p in self.patterns if fnmatch.fnmatchcase(as_org.casefold(), p.casefold()))


def networks_of(entries: list[Entry]) -> Networks:
    asns = frozenset(entry.asn for entry in entries if entry.asn is not None)
    patterns = list(dict.fromkeys(entry.pattern for entry in entries if entry.pattern))
    return Networks(asns=asns, patterns=tuple(patterns), regex=_regex(patterns))


def effective_entries(organization_id: int) -> list[Entry]:
    """The shipped list minus the organization's exclusions, plus its additions (one query)."""
    changes = list(
        DatacenterNetwork.objects.filter(organization_id=organization_id).values_list(
            "change", "asn", "as_org", "note"
        )
    )
    excluded = [(asn, name) for change, asn, name, _note in changes if change == Change.EXCLUDE]
    kept = [e for e in shipped() if not any(e.named_by(asn, name) for asn, name in excluded)]
    added = [Entry(asn, name, note) for change, asn, name, note in changes if change == Change.ADD]
    return kept + added


def effective(organization_id: int) -> Networks:
    """The organization's list as the `datacenter` rule checks it."""
    return networks_of(effective_entries(organization_id))


def datacenter_of(organization_id: int, asn: int | None, as_org: str) -> str | None:
    """What makes this network a data-centre one for the organization (the IP lookup page), or None."""
    return effective(organization_id).match(asn, as_org)

"""Privacy operations: erase or anonymize a person's data, and the retention of raw IPs and user agents.

Rows are never deleted: a click, an impression, a lead, a logged request stays and counts as
before, only its personal fields change (`privacy.redaction`), so the report rollups and a
rollup rebuild add up the same. Work goes in batches of `BATCH` rows, each batch its own short
transaction, so no statement holds locks on the hot tables for long.

Unique clicks are counted per (day, link, IP): a click whose IP is removed or truncated would
change groups, so the click keeps its verdict in `Click.redacted_unique` and leaves the
grouping. When some clicks of a group are redacted and others keep their IP, the earliest of
the others becomes the group's first in a rebuild, so the redacted ones count as repeats:
the group still counts once.

"By publisher" covers the traffic the publisher sent (its clicks, impressions, leads, the
logged requests of its integrations and their delivery URLs) and, with **erase**, its own
account: contact details, payment details (also as copied onto its payouts), the sign-up's
website, its postback settings, and its logins (renamed, e-mail removed, password unusable,
deactivated, second factors removed: they can no longer sign in). Money, payouts and their
amounts stay. **Anonymize** by publisher leaves the account as it is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from accounts.models import Membership, Organization
from accounts.twofactor import second_factor_reset
from ingest.models import InboundPostback
from leads.models import Click, Impression, Lead
from partners.models import Partner
from portal.models import PaymentMethod, Payout, PublisherSignup
from postbacks.models import Delivery, DeliveryAttempt
from privacy.models import PrivacyOperation
from privacy.redaction import (
    ANONYMIZE,
    DEVICE_FIELDS,
    ERASE,
    IP_PARAM_NAMES,
    USER_AGENT_PARAM_NAMES,
    Criterion,
    anonymized_referer,
    lead_clicks,
    replace_ip,
    replace_user_agent,
    scrub_params,
    scrub_text,
)
from reports.models import ClickFingerprint

BATCH = 500
TABLES = ("clicks", "impressions", "leads", "inbound", "deliveries", "accounts")


@dataclass
class Tally:
    """Rows changed (or, in a preview, that would change) per table."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))

    def add(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n


def _batches(queryset: QuerySet) -> Iterator[list[Any]]:
    """The queryset's rows in id order, `BATCH` at a time (keyset pagination: each batch one query)."""
    last = 0
    while True:
        rows = list(queryset.filter(id__gt=last).order_by("id")[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _locked(model: type[Model], ids: list[int], related: tuple[str, ...] = ()) -> list[Any]:
    """The rows again, locked for this batch's transaction (a concurrent change waits, then wins)."""
    queryset = model._default_manager.select_for_update(of=("self",)).filter(id__in=ids).order_by("id")
    return list(queryset.select_related(*related) if related else queryset)


# --- Clicks and impressions ------------------------------------------------------------------


def _redact_device_fields(row: Any, action: str) -> list[str]:
    """Blank or reduce what a click or impression carries about the person; the changed field names."""
    personal = {value for value in (row.ip, *(getattr(row, name) for name in DEVICE_FIELDS)) if value}
    row.ip = replace_ip(row.ip, action)
    for name in DEVICE_FIELDS:
        setattr(row, name, "")
    row.user_agent = replace_user_agent(row.user_agent, action)
    row.referer = anonymized_referer(row.referer) if action == ANONYMIZE else ""
    params, _ = scrub_params(row.params, action)
    # Any other parameter that carried one of those values (a partner's own name for it) goes too.
    row.params = {k: v for k, v in params.items() if not (isinstance(v, str) and v in personal)}
    return ["ip", *DEVICE_FIELDS, "user_agent", "referer", "params"]


def _group_key(click: Any) -> tuple[dt.date, int, str]:
    return (timezone.localtime(click.created_at, dt.UTC).date(), click.link_id, click.ip)


def _unique_verdicts(clicks: list[Any], matches: Callable[[Any], bool]) -> dict[int, bool]:
    """Whether each click counts as unique once its IP leaves the (day, link, IP) grouping.

    Answered for the clicks and every other click of their groups that `matches` (they must be
    redacted in the same transaction, or the group would count twice in between). The group's
    members that keep their IP take over: if any remains, every redacted member is a repeat;
    else the group's first is the unique one. A group counts once before and after.
    """
    verdicts = {c.id: True for c in clicks if not c.ip}
    grouped = [c for c in clicks if c.ip]
    if not grouped:
        return verdicts
    days = [_group_key(c)[0] for c in grouped]
    start = dt.datetime.combine(min(days), dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(max(days) + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    members: dict[tuple, list[Any]] = defaultdict(list)
    candidates = Click.objects.filter(
        link_id__in={c.link_id for c in grouped},
        ip__in={c.ip for c in grouped},
        created_at__gte=start,
        created_at__lt=end,
        redacted_unique__isnull=True,
    ).order_by("id")
    for member in candidates:
        members[_group_key(member)].append(member)
    for key in {_group_key(c) for c in grouped}:
        group = members[key]
        redacted = [m for m in group if matches(m)]
        keeps_ip = len(redacted) < len(group)
        for member in redacted:
            verdicts[member.id] = not keeps_ip and member.id == group[0].id
    return verdicts


def _with_group_mates(clicks: list[Any], matches: Callable[[Any], bool]) -> tuple[list[Any], dict[int, bool]]:
    """The clicks and the matching clicks of their groups (locked too), with each one's verdict."""
    verdicts = _unique_verdicts([c for c in clicks if c.redacted_unique is None], matches)
    mates = sorted(set(verdicts) - {c.id for c in clicks})
    return clicks + _locked(Click, mates), verdicts


def _forget_fingerprints(clicks: list[Any]) -> None:
    """A (day, link, IP) fingerprint of which no click keeps the IP holds nothing but that IP."""
    for day, link_id, ip in {_group_key(c) for c in clicks if c.ip}:
        if not Click.objects.filter(link_id=link_id, ip=ip, redacted_unique__isnull=True).exists():
            ClickFingerprint.objects.filter(day=day, link_id=link_id, ip=ip).delete()


def _redact_clicks(queryset: QuerySet, matches: Callable[[Any], bool], action: str, apply: bool) -> int:
    done: set[int] = set()
    for batch in _batches(queryset):
        ids = [c.id for c in batch if matches(c) and c.id not in done]
        if not apply:
            done.update(ids)
            continue
        with transaction.atomic():
            clicks, verdicts = _with_group_mates(_locked(Click, ids), matches)
            originals = [Click(id=c.id, link_id=c.link_id, ip=c.ip, created_at=c.created_at) for c in clicks]
            fields: list[str] = []
            for click in clicks:
                fields = _redact_device_fields(click, action)
                if click.id in verdicts:
                    click.redacted_unique = verdicts[click.id]
            if clicks:
                Click.objects.bulk_update(clicks, [*fields, "redacted_unique"])
            _forget_fingerprints(originals)
        done.update(c.id for c in clicks)
    return len(done)


def _redact_impressions(queryset: QuerySet, matches: Callable[[Any], bool], action: str, apply: bool) -> int:
    changed = 0
    for batch in _batches(queryset):
        ids = [row.id for row in batch if matches(row)]
        if not apply:
            changed += len(ids)
            continue
        with transaction.atomic():
            rows = _locked(Impression, ids)
            fields: list[str] = []
            for row in rows:
                fields = _redact_device_fields(row, action)
            if rows:
                Impression.objects.bulk_update(rows, fields)
        changed += len(rows)
    return changed


# --- Leads, their deliveries, the inbound log ------------------------------------------------


def _lead_values(lead: Any, action: str) -> dict[str, str]:
    """The personal strings its delivery URLs may carry (its own and its click's), and their replacement."""
    lead.params, replaced = scrub_params(lead.params, action)
    lead.verdict_details, more = scrub_params(lead.verdict_details, action)
    replaced.update(more)
    for click in lead_clicks(lead):
        replaced.update({getattr(click, name): "" for name in DEVICE_FIELDS if getattr(click, name)})
        if click.ip:
            replaced[click.ip] = replace_ip(click.ip, action)
        if click.user_agent:
            replaced[click.user_agent] = replace_user_agent(click.user_agent, action)
    lead.click_facts = _redacted_facts(lead.click_facts, action)
    return replaced


def _redacted_facts(facts: dict[str, Any], action: str) -> dict[str, Any]:
    """The lead's copy of its click with the person's IP, device ids and user agent gone, as on the click."""
    if not facts:
        return facts
    kept = {**facts, **{name: "" for name in DEVICE_FIELDS if name in facts}}
    if "ip" in facts:
        kept["ip"] = replace_ip(facts["ip"], action)
    if "user_agent" in facts:
        kept["user_agent"] = replace_user_agent(facts["user_agent"], action)
    return kept


def _redact_deliveries(leads: dict[int, dict[str, str]]) -> int:
    """Delivery URLs (as sent and as attempted) with the leads' personal values replaced."""
    deliveries = list(
        Delivery.objects.select_for_update().filter(lead_id__in=leads).only("id", "lead_id", "url")
    )
    for delivery in deliveries:
        delivery.url = scrub_text(delivery.url, leads[delivery.lead_id])
    Delivery.objects.bulk_update(deliveries, ["url"])
    attempts = list(DeliveryAttempt.objects.filter(delivery__lead_id__in=leads).select_related("delivery"))
    for attempt in attempts:
        attempt.url_masked = scrub_text(attempt.url_masked, leads[attempt.delivery.lead_id])
    DeliveryAttempt.objects.bulk_update(attempts, ["url_masked"])
    return len(deliveries)


def _redact_leads(
    queryset: QuerySet, matches: Callable[[Any], bool], action: str, apply: bool, tally: Tally
) -> None:
    for batch in _batches(queryset.select_related("click")):
        ids = [lead.id for lead in batch if matches(lead)]
        if not apply:
            tally.add("leads", len(ids))
            tally.add("deliveries", Delivery.objects.filter(lead_id__in=ids).count())
            continue
        with transaction.atomic():
            leads = _locked(Lead, ids, ("click",))
            values = {lead.id: _lead_values(lead, action) for lead in leads}
            Lead.objects.bulk_update(leads, ["params", "verdict_details", "click_facts"])
            tally.add("deliveries", _redact_deliveries(values))
        tally.add("leads", len(leads))


def _redact_inbound_row(row: Any, action: str) -> None:
    row.params, replaced = scrub_params(row.params, action)
    if row.source_ip:
        replaced[row.source_ip] = replace_ip(row.source_ip, action)
    if row.user_agent:
        replaced[row.user_agent] = replace_user_agent(row.user_agent, action)
    row.body = scrub_text(row.body, replaced)
    row.path = scrub_text(row.path, replaced)
    row.source_ip = replace_ip(row.source_ip, action) or None
    row.user_agent = replace_user_agent(row.user_agent, action)


def _redact_inbound(queryset: QuerySet, matches: Callable[[Any], bool], action: str, apply: bool) -> int:
    changed = 0
    for batch in _batches(queryset.select_related("integration", "lead__click")):
        ids = [row.id for row in batch if matches(row)]
        if not apply:
            changed += len(ids)
            continue
        with transaction.atomic():
            rows = _locked(InboundPostback, ids)
            for row in rows:
                _redact_inbound_row(row, action)
            InboundPostback.objects.bulk_update(rows, ["params", "body", "path", "source_ip", "user_agent"])
        changed += len(rows)
    return changed


# --- A publisher's own account ---------------------------------------------------------------


def _erase_publisher_account(partner_id: int, apply: bool) -> int:
    """Contact, payment and login details of the publisher; its logins can no longer sign in."""
    users = get_user_model().objects.filter(
        pk__in=Membership.objects.filter(partner_id=partner_id).values("user_id")
    )
    if not apply:
        return 1 + users.count()
    with transaction.atomic():
        Partner.objects.filter(pk=partner_id).update(
            name=f"Erased publisher #{partner_id}",
            contact_name="",
            contact_email="",
            website="",
            publisher_postback_url="",
            publisher_postback_secret_encrypted="",
        )
        PaymentMethod.objects.filter(partner_id=partner_id).update(
            paypal_email="", account_holder="", iban="", bic="", wallet_network="", wallet_address=""
        )
        Payout.objects.filter(partner_id=partner_id).update(method="(erased)")
        PublisherSignup.objects.filter(partner_id=partner_id).update(website="")
        count = 1
        for user in users.select_for_update():
            user.username = f"erased-{user.pk}"
            user.email = user.first_name = user.last_name = ""
            user.is_active = False
            user.set_unusable_password()
            user.save()
            second_factor_reset(user=user)
            count += 1
    return count


# --- The operation ---------------------------------------------------------------------------


def _apply(organization: Organization, criterion: Criterion, action: str, apply: bool) -> Tally:
    tally = Tally()
    in_org = Q(organization=organization)
    # The inbound log first, then the leads: they find rows through a lead's click, before it changes.
    inbound = InboundPostback.objects.filter(in_org & criterion.inbound_q())
    tally.add("inbound", _redact_inbound(inbound, criterion.matches_inbound, action, apply))
    _redact_leads(
        Lead.objects.filter(in_org & criterion.lead_q()), criterion.matches_lead, action, apply, tally
    )
    clicks = Click.objects.filter(in_org & criterion.traffic_q())
    tally.add("clicks", _redact_clicks(clicks, criterion.matches_traffic, action, apply))
    impressions = Impression.objects.filter(in_org & criterion.traffic_q())
    tally.add("impressions", _redact_impressions(impressions, criterion.matches_traffic, action, apply))
    if criterion.kind == "publisher" and action == ERASE:
        tally.add("accounts", _erase_publisher_account(criterion.partner_id or 0, apply))
    return tally


def privacy_preview(*, organization: Organization, criterion: Criterion, action: str) -> dict[str, int]:
    """How many rows of each table the operation would change; nothing is changed."""
    return _apply(organization, criterion, action, apply=False).counts


def privacy_run(
    *,
    organization: Organization,
    criterion: Criterion,
    action: str,
    channel: str,
    actor: Any = None,
    actor_name: str = "",
    client_ip: str | None = None,
) -> PrivacyOperation:
    """Erase or anonymize the criterion's personal data in the organization, and record that it was done.

    The record is written first (a failure half-way still shows who started what), then
    completed with the counts.
    """
    signed_in = actor is not None and actor.is_authenticated
    operation = PrivacyOperation.objects.create(
        organization=organization,
        actor=actor if signed_in else None,
        actor_name=actor.get_username() if signed_in else actor_name,
        channel=channel,
        client_ip=client_ip or None,
        kind=criterion.kind,
        criteria=criterion.masked,
        action=action,
    )
    tally = _apply(organization, criterion, action, apply=True)
    operation.counts = tally.counts
    operation.finished_at = timezone.now()
    operation.save(update_fields=["counts", "finished_at"])
    return operation


# --- Retention -------------------------------------------------------------------------------


def _cutoff(days: int) -> dt.datetime | None:
    return timezone.now() - dt.timedelta(days=days) if days > 0 else None


def _drop_keys(params: dict[str, Any], names: frozenset[str]) -> tuple[dict[str, Any], dict[str, str]]:
    kept = {k: v for k, v in (params or {}).items() if k.lower() not in names}
    dropped = {v: "" for k, v in (params or {}).items() if k.lower() in names and isinstance(v, str) and v}
    return kept, dropped


def _retain_traffic(model: type[Model], ip_cutoff: dt.datetime | None, ua_cutoff: dt.datetime | None) -> int:
    done: set[int] = set()
    old_ip = Q(created_at__lt=ip_cutoff) & ~Q(ip="") if ip_cutoff else Q(pk__in=[])
    if model is Click and ip_cutoff:
        old_ip &= Q(redacted_unique__isnull=True)
    old_ua = Q(created_at__lt=ua_cutoff) & ~Q(user_agent="") if ua_cutoff else Q(pk__in=[])
    for batch in _batches(model._default_manager.filter(old_ip | old_ua).only("id")):
        with transaction.atomic():
            rows = _locked(model, [row.id for row in batch if row.id not in done])
            verdicts: dict[int, bool] = {}
            if model is Click and ip_cutoff:
                rows, verdicts = _with_group_mates(rows, lambda c: c.created_at < ip_cutoff and bool(c.ip))
            stale_ip = [r for r in rows if ip_cutoff and r.created_at < ip_cutoff and r.ip]
            originals = [
                Click(id=r.id, link_id=r.link_id, ip=r.ip, created_at=r.created_at) for r in stale_ip
            ]
            stale_ids = {r.id for r in stale_ip}
            for row in rows:
                if ua_cutoff and row.created_at < ua_cutoff:
                    row.user_agent = ""
                if row.id in stale_ids:
                    row.ip = ""
                    if row.id in verdicts:
                        row.redacted_unique = verdicts[row.id]
            fields = ["ip", "user_agent", *(["redacted_unique"] if model is Click else [])]
            model._default_manager.bulk_update(rows, fields)
            if model is Click:
                _forget_fingerprints(originals)
        done.update(row.id for row in rows)
    return len(done)


def _retain_leads(ip_cutoff: dt.datetime | None, ua_cutoff: dt.datetime | None) -> int:
    changed: set[int] = set()
    for cutoff, names in ((ip_cutoff, IP_PARAM_NAMES), (ua_cutoff, USER_AGENT_PARAM_NAMES)):
        if cutoff is None:
            continue
        # The lead's copy of its click's IP or user agent goes at the same age as its parameters.
        fact = "ip" if names is IP_PARAM_NAMES else "user_agent"
        personal = Q(params__has_any_keys=sorted(names)) | Q(click_facts__has_key=fact)
        queryset = Lead.objects.filter(personal, created_at__lt=cutoff).only("id")
        for batch in _batches(queryset):
            with transaction.atomic():
                leads = _locked(Lead, [lead.id for lead in batch])
                for lead in leads:
                    lead.params, _ = _drop_keys(lead.params, names)
                    lead.click_facts.pop(fact, None)
                Lead.objects.bulk_update(leads, ["params", "click_facts"])
            changed.update(lead.id for lead in leads)
    return len(changed)


def _retain_inbound(ip_cutoff: dt.datetime | None, ua_cutoff: dt.datetime | None) -> int:
    changed: set[int] = set()
    for cutoff, names in ((ip_cutoff, IP_PARAM_NAMES), (ua_cutoff, USER_AGENT_PARAM_NAMES)):
        if cutoff is None:
            continue
        personal = Q(params__has_any_keys=sorted(names)) | (
            Q(source_ip__isnull=False) if names is IP_PARAM_NAMES else ~Q(user_agent="")
        )
        for batch in _batches(InboundPostback.objects.filter(personal, received_at__lt=cutoff).only("id")):
            with transaction.atomic():
                rows = _locked(InboundPostback, [row.id for row in batch])
                for row in rows:
                    row.params, dropped = _drop_keys(row.params, names)
                    row.body = scrub_text(row.body, dropped)
                    row.path = scrub_text(row.path, dropped)
                    if names is IP_PARAM_NAMES:
                        row.source_ip = None
                    else:
                        row.user_agent = ""
                InboundPostback.objects.bulk_update(
                    rows, ["params", "body", "path", "source_ip", "user_agent"]
                )
            changed.update(row.id for row in rows)
    return len(changed)


def retention_purge(*, ip_days: int, user_agent_days: int) -> dict[str, int]:
    """Blank raw IPs older than `ip_days` and user agents older than `user_agent_days` (0: keep).

    Clicks, impressions, leads' parameters and the inbound log; in batches; a second run finds
    nothing left to do.
    """
    ip_cutoff, ua_cutoff = _cutoff(ip_days), _cutoff(user_agent_days)
    return {
        "clicks": _retain_traffic(Click, ip_cutoff, ua_cutoff),
        "impressions": _retain_traffic(Impression, ip_cutoff, ua_cutoff),
        "leads": _retain_leads(ip_cutoff, ua_cutoff),
        "inbound": _retain_inbound(ip_cutoff, ua_cutoff),
    }

"""Reads of traffic and leads: keys of the postbacks, scoped querysets.

The postback look-ups take the app (and, for a partner system, the integration) the
token belongs to (`leads.linkcache` finds it), so a token never reaches another app's
clicks, links or leads: those are simply not found, exactly like unknown ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import tablib
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import Organization
from config.i18n import admin_text
from config.money import MoneySum
from config.selects import Placeholders, RowSelect
from leads.linkcache import goal_table
from leads.models import WITHHOLDING_VERDICTS, Click, Impression, Lead, LeadEvent, LeadStatus, Verdict
from leads.routing import SMARTLINK_CATCH_ALL
from partners.models import (
    Goal,
    GoalPartnerPayout,
    ScreeningRule,
    SmartLink,
    SourceListEntry,
    TrackingLink,
)


def _clicks_in_scope(p: Placeholders, by_integration: bool) -> QuerySet[Click]:
    clicks = Click.objects.filter(click_id=p.click_id, integration__app_id=p.app_id)
    if by_integration:
        clicks = clicks.filter(integration_id=p.integration_id)
    # The click id is unique: no ORDER BY for `first()` to compile and the database to sort.
    return clicks[:1]


# Every lead postback looks its click up: the statement is compiled once (config.selects).
select_click_in_scope = RowSelect(_clicks_in_scope)


def click_in_scope(*, app_id: int, integration_id: int | None, click_id: str) -> Click | None:
    """The click with this id among the app's clicks (the integration's, when one is named)."""
    found = select_click_in_scope(
        integration_id is not None, click_id=click_id, app_id=app_id, integration_id=integration_id
    )
    return _with_cached_offer(found[0]) if found else None


def _with_cached_offer(click: Click) -> Click:
    # The offer comes from the offer's cached goal table rather than a join: the postback
    # path reads it on every lead.
    click.offer = copy.copy(goal_table(click.offer_id).offer)
    return click


def leads_for_change() -> QuerySet[Lead]:
    """Leads with what a change reads (goal, click), each locked until the transaction ends.

    Pass what it finds through `with_current_goal`: a lead locked after waiting for a
    concurrent goal change comes with the new `goal_id` and no goal.
    """
    return Lead.objects.select_related("goal", "click").select_for_update(of=("self",))


def with_current_goal(lead: Lead) -> Lead:
    """The locked lead with the goal its `goal_id` names (read again only when the join lost it).

    PostgreSQL rechecks a row it waited for with only the locked table re-read: when the lead's
    goal changed meanwhile, the outer-joined goal row of the old `goal_id` no longer matches,
    so the lead arrives with a new `goal_id` and no goal.
    """
    if lead.goal_id is not None and lead.goal is None:
        lead.goal = Goal.objects.get(pk=lead.goal_id)
    return lead


def _leads_by_click_id(p: Placeholders, by_integration: bool, by_exto: bool) -> QuerySet[Lead]:
    leads = leads_for_change().filter(click__click_id=p.click_id, click__integration__app_id=p.app_id)
    if by_integration:
        leads = leads.filter(click__integration_id=p.integration_id)
    return (leads.filter(exto=p.exto) if by_exto else leads)[:2]


# Every status postback by click runs this (some seventy columns): compiled once.
select_leads_by_click_id = RowSelect(_leads_by_click_id)


def leads_by_click_id(*, app_id: int, integration_id: int | None, click_id: str, exto: str) -> list[Lead]:
    """At most two leads a status postback names by click id (and exto), with their click, locked.

    One query for what `click_in_scope` and `leads_by_key` find in two: a status postback
    names an existing lead far more often than not.
    """
    found = select_leads_by_click_id(
        integration_id is not None,
        bool(exto),
        click_id=click_id,
        app_id=app_id,
        integration_id=integration_id,
        exto=exto,
    )
    for lead in found:
        with_current_goal(lead)
        _with_cached_offer(lead.click)
    return found


def link_in_scope(
    *, app_id: int, integration_id: int | None, flow: int | None = None, code: str = ""
) -> TrackingLink | None:
    """The tracking link named by its id (`flow`) or its code, among the app's links."""
    links = TrackingLink.objects.select_related("offer").filter(offer__app_id=app_id)
    if integration_id is not None:
        links = links.filter(integration_id=integration_id)
    links = links.filter(pk=flow) if flow is not None else links.filter(code__iexact=code)
    return links.first()


def links_for_offer_and_partner(
    *, app_id: int, integration_id: int | None, offer_id: int, partner_id: int
) -> list[TrackingLink]:
    """At most two links of one partner for one offer (two means the pair names no single flow)."""
    links = TrackingLink.objects.select_related("offer").filter(
        offer__app_id=app_id, offer_id=offer_id, partner_id=partner_id
    )
    if integration_id is not None:
        links = links.filter(integration_id=integration_id)
    return list(links.order_by("id")[:2])


def goal_for_code(*, offer_id: int, partner_id: int, code: str) -> Goal | None:
    """The offer's goal whose code or alias is `code` (any case), with the partner's payout."""
    table = goal_table(offer_id)
    return table.goal(table.codes.get(code.strip().lower()), partner_id)


def default_goal(*, offer_id: int, partner_id: int) -> Goal | None:
    """The goal a postback without `goal=` counts for: the offer's default, or none."""
    table = goal_table(offer_id)
    return table.goal(table.default_id, partner_id)


def partner_payout_of(goal: Goal, partner_id: int) -> tuple[str, Decimal] | None:
    """The partner's own (payout type, payout) for this goal, from the annotation when present."""
    if hasattr(goal, "partner_payout"):
        return None if goal.partner_payout is None else (goal.partner_payout_type, goal.partner_payout)
    return (
        GoalPartnerPayout.objects.filter(goal=goal, partner_id=partner_id)
        .values_list("payout_type", "payout")
        .first()
    )


def goal_codes(offer_id: int) -> list[str]:
    """Every code a postback may send for this offer's goals: main codes, then aliases."""
    table = goal_table(offer_id)
    main = [goal.code for goal in table.goals.values()]
    return main + sorted(code for code in table.codes if code not in {c.lower() for c in main})


def leads_by_key(*, click: Click | None, link_id: int, exto: str) -> QuerySet[Lead]:
    """The leads a status postback's key names, locked for the change."""
    leads = leads_for_change()
    if click is not None:
        leads = leads.filter(click=click)
        return leads.filter(exto=exto) if exto else leads
    return leads.filter(link_id=link_id, exto=exto)


def click_has_leads(click: Click | None) -> bool:
    return click is not None and Lead.objects.filter(click=click).exists()


def lead_by_creation_key(*, click: Click | None, link_id: int, exto: str) -> Lead:
    """The lead that holds the unique key a creation collided with, locked for the change."""
    leads = leads_for_change()
    if click is not None:
        return with_current_goal(leads.get(click=click, exto=exto))
    return with_current_goal(leads.get(link_id=link_id, exto=exto, click__isnull=True))


def clicks_for(organization: Organization | None) -> QuerySet[Click]:
    return Click.objects.filter(organization=organization).select_related(
        "link", "partner", "offer", "integration"
    )


def impressions_for(organization: Organization | None) -> QuerySet[Impression]:
    return Impression.objects.filter(organization=organization).select_related(
        "link", "partner", "offer", "integration"
    )


def leads_for(organization: Organization | None) -> QuerySet[Lead]:
    """Leads with what their pages show: the integration (its IP privacy) and the verdict's rule."""
    return Lead.objects.filter(organization=organization).select_related(
        "goal", "offer", "partner", "click", "link", "app", "integration", "verdict_rule"
    )


def lead_events_of(lead: Lead) -> QuerySet[LeadEvent]:
    return lead.events.select_related("actor", "inbound")


def screening_rules_for(organization: Organization | None) -> QuerySet[ScreeningRule]:
    return ScreeningRule.objects.filter(integration__organization=organization).select_related(
        "integration__app", "integration__partner"
    )


def source_entries_for(organization: Organization | None) -> QuerySet[SourceListEntry]:
    return SourceListEntry.objects.filter(integration__organization=organization)


# --- The screening report ----------------------------------------------------------------------

REPORT_COLUMNS = (
    ("partner", admin_text("Partner")),
    ("offer", admin_text("Offer")),
    ("source", admin_text("Source (sub1)")),
    ("reason", admin_text("Reason code")),
    ("clicks_flagged", admin_text("Clicks flagged")),
    ("clicks_rejected", admin_text("Clicks rejected")),
    ("leads_flagged", admin_text("Leads flagged")),
    ("leads_rejected", admin_text("Leads rejected")),
)
_COUNTS = ("clicks_flagged", "clicks_rejected", "leads_flagged", "leads_rejected")


def _screened(
    model: type[Click] | type[Lead],
    organization: Organization | None,
    since: datetime,
    until: datetime,
    using: str,
):
    """Screened rows of one kind grouped by partner, offer, source and reason (partial index)."""
    source = "sub1" if model is Click else "source"
    return (
        model.objects.using(using)
        .filter(~Q(verdict=Verdict.OK), organization=organization)
        .filter(created_at__gte=since, created_at__lt=until)
        .values("partner__name", "offer__name", source, "verdict_reason")
        .annotate(
            # A test click (unfilled placeholders) is set apart like a flagged one.
            flagged=Count("id", filter=Q(verdict__in=[Verdict.FLAGGED, Verdict.TEST])),
            # A lead over a cap is turned away like a rejected one; its reason says cap_reached.
            rejected=Count("id", filter=Q(verdict__in=WITHHOLDING_VERDICTS)),
        )
        .order_by()
    )


def screening_report(
    organization: Organization | None, *, since: datetime, until: datetime, using: str = DEFAULT_DB_ALIAS
) -> list[dict[str, Any]]:
    """Flagged and rejected clicks and leads of a period by partner, offer, source and reason code.

    Two grouped queries over the screened rows only; no IP appears in the report. `using` is
    the database to read (the reports replica through `config.replica.read_reports`).
    """
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for kind, model, source in (("clicks", Click, "sub1"), ("leads", Lead, "source")):
        for group in _screened(model, organization, since, until, using):
            key = (group["partner__name"], group["offer__name"], group[source], group["verdict_reason"])
            row = rows.setdefault(
                key,
                dict(zip(("partner", "offer", "source", "reason"), key, strict=True))
                | dict.fromkeys(_COUNTS, 0),
            )
            row[f"{kind}_flagged"] += group["flagged"]
            row[f"{kind}_rejected"] += group["rejected"]
    return sorted(rows.values(), key=lambda row: (row["partner"], row["offer"], row["source"], row["reason"]))


def screening_report_dataset(rows: list[dict[str, Any]]) -> tablib.Dataset:
    """The report as a tablib dataset, ready for CSV (or any tablib format)."""
    dataset = tablib.Dataset(headers=[str(title) for _, title in REPORT_COLUMNS])
    for row in rows:
        dataset.append([row[name] for name, _ in REPORT_COLUMNS])
    return dataset


# -- smart links --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitRow:
    """One line of a smart link's split: an entry (or the catch-all) and its clicks."""

    label: str
    offer: str
    clicks: int
    share: float


def smart_link_split(smart_link: SmartLink, *, days: int = 30) -> list[SplitRow]:
    """Clicks per entry over the last `days` (the clicks' `smart_link` index), catch-all apart.

    A link that was an entry once and is no more still shows with its clicks.
    """
    since = timezone.now() - timedelta(days=days)
    counts: dict[tuple[int, bool], int] = {}
    rows = (
        Click.objects.filter(smart_link=smart_link, created_at__gte=since)
        .values_list("link_id", "redirect_reason")
        .annotate(total=Count("id"))
        .order_by()
    )
    for link_id, reason, total in rows:
        key = (link_id, reason == SMARTLINK_CATCH_ALL)
        counts[key] = counts.get(key, 0) + total
    grand = sum(counts.values()) or 1
    links = {
        link.pk: link
        for link in TrackingLink.objects.filter(
            Q(smart_link_entries__smart_link=smart_link) | Q(pk__in=[key[0] for key in counts])
        ).select_related("offer")
    }
    order = [entry.link_id for entry in smart_link.entries.all()]
    order += sorted(pk for pk in links if pk not in order)
    split = [
        SplitRow(f"#{pk} {links[pk].code}", links[pk].offer.name, counts.get((pk, False), 0), 0.0)
        for pk in order
    ]
    catch_all = sum(total for (_, is_catch_all), total in counts.items() if is_catch_all)
    if catch_all:
        split.append(SplitRow("Catch-all", "—", catch_all, 0.0))
    return [SplitRow(row.label, row.offer, row.clicks, row.clicks / grand) for row in split]


def approved_payout_by_day(*, partner_ids: Any) -> dict[date, Decimal]:
    """The base-currency payout of these partners' approved leads, per day of their approval.

    A balance in a payout currency other than the base converts each day's sum at that day's
    rate: one grouped read over the partners' approved leads (index `lead_partner_approved`).
    """
    rows = (
        Lead.objects.filter(partner_id__in=partner_ids, status=LeadStatus.APPROVED)
        .annotate(approved_on=TruncDate(Coalesce("status_changed_at", "created_at")))
        .values("approved_on")
        .annotate(total=MoneySum("payout_base"))
        .order_by()
    )
    return {row["approved_on"]: row["total"] or Decimal("0") for row in rows}

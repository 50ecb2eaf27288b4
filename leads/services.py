"""Writes of leads: the lifecycle of a lead — creation, status, goal, money and verdict changes.

Every change of a lead passes through `_record_changes`, inside the transaction that made
it: the lead row and its events commit together with the deliveries the change causes.
The ingest app turns a postback into these calls (SPEC 4.2, 4.3); the admin and the API
call them directly.

- A lead is created by one INSERT … ON CONFLICT DO NOTHING (`lead_insert`): when the
  database's unique constraint says its key (click, exto / click / link, exto) is taken, the
  lead that holds it is answered instead — never check-then-create.
- Screening (SPEC 4.4), on creation only: a source the integration's lists keep out is
  refused (`LeadRefused`, 422); a new lead is then screened by the integration's conversion
  rules, and a lead on a rejected click is rejected with it. A rejected lead pays nothing:
  its payout is held at 0 whatever later postbacks say (`_withhold`), the amount it would
  pay is kept in `verdict_details["withheld_payout"]` and restored when a manager overrides
  the verdict (`lead_set_verdict`, which records a verdict event).
- Caps (SPEC 4.5), on creation only, after screening: a lead that is not rejected claims every
  cap of its offer that applies (`leads.caps`, the database decides). A lead a cap refuses is
  kept with verdict `cap_reached` and treated like a rejected one: its payout is withheld, a
  manager's override restores it, and it is not posted back as a conversion.
- Report rollups are not touched here: the fold (`leads.rollups`) reads the events later,
  so no request transaction writes a shared aggregate row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from config.inserts import RowInsert
from config.transient import retry_transient
from config.updates import RowUpdate
from leads import caps, geoip, linkcache, outbound, privacy, screening, selectors
from leads.models import WITHHOLDING_VERDICTS, Click, Lead, LeadEvent, LeadStatus, Verdict, click_facts
from partners.models import App, Goal, IpPrivacy, Offer, PayoutType, TrackingLink
from postbacks.services import deliveries_record

# A lead's creation is one INSERT … ON CONFLICT DO NOTHING: the creation keys' unique
# constraints decide between racing postbacks, without a savepoint.
insert_lead = RowInsert(Lead, ignore_conflicts=True)
insert_event = RowInsert(LeadEvent)

Source = LeadEvent.Source

FOUR_PLACES = Decimal("0.0001")
# Postback parameters that steer the processing; everything else is kept on the lead.
CONTROL_PARAMETERS = frozenset(
    {"token", "click", "exto", "flow", "code", "goal", "status", "auto", "pay", "wm", "cc"}
    | {"sta", "stc", "stt", "sth", "stw", "stn", "offer", "publisher", "advertiser"}
)
CHANGE_FIELDS = [
    "status",
    "status_changed_at",
    "goal",
    "payout",
    "revenue",
    "currency",
    "base_currency",
    "fx_rate",
    "fx_date",
    "payout_base",
    "revenue_base",
    "payout_set_by_postback",
    "revenue_set_by_postback",
    "third_party_status",
    "third_party_rejected_reason",
    "verdict",
    "verdict_reason",
    "verdict_rule",
    "verdict_details",
    "updated_at",
]
# Every status postback saves a lead's changes: the UPDATE is written once (config.updates).
update_lead_changes = RowUpdate(Lead, CHANGE_FIELDS)
VERDICT_FIELDS = [
    "verdict",
    "verdict_reason",
    "verdict_rule",
    "verdict_details",
    "payout",
    "payout_base",
    "updated_at",
]
WITHHELD = "withheld_payout"
CAP_REACHED_REASON = "cap_reached"


class LeadRefused(Exception):
    """A change the rules refuse, with the HTTP status and a sentence the sender can act on."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


@dataclass(frozen=True)
class Terms:
    """What a lead pays under its goal: the publisher's payout (amount or percent) and our revenue."""

    payout_type: str
    payout: Decimal
    revenue: Decimal

    def payout_on(self, revenue: Decimal) -> Decimal:
        """The publisher's payout for this much revenue: the amount, or its percent."""
        if self.payout_type == PayoutType.PERCENT:
            return (revenue * self.payout / 100).quantize(FOUR_PLACES)
        return self.payout

    @classmethod
    def of(cls, goal: Goal | None, *, partner_id: int, offer: Offer | None = None) -> Terms | None:
        """The goal's terms for this partner (its own payout first); no goal: the offer's rate."""
        if goal is None:
            return cls(PayoutType.FIXED, offer.rate, Decimal("0")) if offer is not None else None
        override = selectors.partner_payout_of(goal, partner_id)
        if override is not None:
            return cls(override[0], override[1], goal.revenue)
        return cls(goal.payout_type, goal.payout, goal.revenue)


@dataclass
class Target:
    """What a postback names: its click, or a tracking link without one, and the lead's exto."""

    click: Click | None
    link: TrackingLink | None
    offer: Offer
    exto: str

    @property
    def keyed(self) -> bool:
        """A link without exto is no key: each creation by it is a new lead."""
        return self.click is not None or bool(self.exto)

    @property
    def link_id(self) -> int:
        return self.click.link_id if self.click is not None else self.link.pk  # type: ignore[union-attr]

    @property
    def integration_id(self) -> int:
        return self.click.integration_id if self.click is not None else self.link.integration_id  # type: ignore[union-attr]

    @property
    def partner_id(self) -> int:
        return self.click.partner_id if self.click is not None else self.link.partner_id  # type: ignore[union-attr]


@dataclass(frozen=True)
class Money:
    """Money a postback sets explicitly: `pay` (our revenue), `wm` (publisher), `cc` (currency)."""

    revenue: Decimal | None = None
    payout: Decimal | None = None
    currency: str = ""

    @property
    def given(self) -> bool:
        return self.revenue is not None or self.payout is not None or bool(self.currency)


# --- Changes of a lead, in memory; `_record_changes` saves them ------------------------------


def _price(lead: Lead, terms: Terms | None) -> None:
    """Money from the terms, except what a postback set explicitly (`pay`, `wm`)."""
    if terms is None:
        return
    if not lead.revenue_set_by_postback:
        lead.revenue = terms.revenue
    if not lead.payout_set_by_postback:
        lead.payout = terms.payout_on(lead.revenue)
    _withhold(lead)


def _set_money(lead: Lead, money: Money) -> None:
    if money.revenue is not None:
        lead.revenue, lead.revenue_set_by_postback = money.revenue, True
    if money.payout is not None:
        lead.payout, lead.payout_set_by_postback = money.payout, True
    if money.currency and money.currency != lead.currency:
        lead.currency, lead.fx_rate = money.currency, None  # re-frozen for the new currency
    _withhold(lead)


def _withhold(lead: Lead) -> None:
    """A rejected (or cap_reached) lead pays nothing; what it would pay is kept to restore on an override."""
    if lead.verdict in WITHHOLDING_VERDICTS and lead.payout:
        lead.verdict_details = {**lead.verdict_details, WITHHELD: str(lead.payout)}
        lead.payout = Decimal("0")
    _rebase(lead)


def _release(lead: Lead) -> None:
    """A lead no longer withheld pays again: the withheld amount, else what its goal computes."""
    details = dict(lead.verdict_details)
    withheld = details.pop(WITHHELD, None)
    lead.verdict_details = details
    if withheld is not None:
        lead.payout = Decimal(withheld)
    elif not lead.payout_set_by_postback:
        _price(lead, Terms.of(lead.goal, partner_id=lead.partner_id, offer=lead.offer))
    _rebase(lead)


def _freeze(lead: Lead) -> None:
    """Freeze the rate from the lead's currency into its organization's base currency.

    The rate is the ECB's of the conversion's (UTC) day, or the last publication before it; it
    stays with the lead, so its base amounts never move with later rates. A currency the rates
    do not know is refused: its amounts could not be added up with any other.
    """
    base = linkcache.base_currency(lead.organization_id)
    day = lead.created_at.astimezone(UTC).date()
    rate = linkcache.fx_rate(lead.currency, base, day)
    if rate is None:
        raise LeadRefused(
            422,
            f"No exchange rate is known for currency {lead.currency} on {day:%Y-%m-%d}: "
            "send cc as one of the ECB's reference currencies (EUR, USD, GBP, …).",
        )
    lead.base_currency, lead.fx_rate, lead.fx_date = base, rate.rate, rate.day


def _rebase(lead: Lead) -> None:
    """The lead's payout and revenue in the base currency, at its frozen rate (frozen first when new)."""
    if lead.fx_rate is None:
        _freeze(lead)
    lead.payout_base = _at_rate(lead.payout, lead.fx_rate)
    lead.revenue_base = _at_rate(lead.revenue, lead.fx_rate)


def lead_freeze_base(lead: Lead) -> None:
    """Freeze an unsaved lead's rate and base amounts: for leads built in bulk (the demo seed)."""
    _rebase(lead)


def _at_rate(amount: Decimal | None, rate: Decimal | None) -> Decimal:
    return (Decimal(amount or 0) * Decimal(rate or 0)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


# (status, goal code, payout, revenue, payout in the base currency, revenue in it)
State = tuple[str, str, Decimal | None, Decimal | None, Decimal | None, Decimal | None]


def _event(lead: Lead, kind: str, before: State) -> LeadEvent:
    """An event from the lead's (status, goal code, payout, revenue and their base amounts) before to now."""
    return LeadEvent(
        lead=lead,
        kind=kind,
        from_status=before[0],
        to_status=lead.status,
        from_goal=before[1],
        to_goal=lead.goal.code if lead.goal_id else "",
        from_payout=before[2],
        to_payout=lead.payout,
        from_revenue=before[3],
        to_revenue=lead.revenue,
        from_payout_base=before[4],
        to_payout_base=lead.payout_base,
        from_revenue_base=before[5],
        to_revenue_base=lead.revenue_base,
    )


def _state(lead: Lead) -> State:
    goal = lead.goal.code if lead.goal_id else ""
    return lead.status, goal, lead.payout, lead.revenue, lead.payout_base, lead.revenue_base


def _status_change(lead: Lead, status: str) -> list[LeadEvent]:
    if lead.status == status:
        return []
    before = _state(lead)
    lead.status, lead.status_changed_at = status, timezone.now()
    return [_event(lead, LeadEvent.Kind.STATUS, before)]


def _goal_change(lead: Lead, goal: Goal) -> list[LeadEvent]:
    """A new goal recalculates the money, approved leads included (the seed's rule)."""
    if lead.goal_id == goal.pk:
        return []
    before = _state(lead)
    lead.goal = goal
    _price(lead, Terms.of(goal, partner_id=lead.partner_id))
    return [_event(lead, LeadEvent.Kind.GOAL, before)]


def _money_change(lead: Lead, money: Money) -> list[LeadEvent]:
    """`pay` / `wm` / `cc`; a percent goal's payout follows the new revenue unless `wm` set it."""
    before, currency = _state(lead), lead.currency
    _set_money(lead, money)
    if money.revenue is not None and lead.goal_id:
        _price(lead, Terms.of(lead.goal, partner_id=lead.partner_id))
    if (lead.payout, lead.revenue, lead.currency) == (before[2], before[3], currency):
        return []
    event = _event(lead, LeadEvent.Kind.MONEY, before)
    event.note = f"currency {currency} → {lead.currency}" if currency != lead.currency else ""
    return [event]


def _record_changes(
    lead: Lead,
    events: list[LeadEvent],
    *,
    source: str,
    actor: Any = None,
    inbound: Model | None = None,
) -> None:
    """Keep a lead's changes as events: the one place every change of a lead passes through.

    It runs inside the transaction that changed the lead, so whatever a change must cause
    (partner and publisher postbacks, status sync, CleverTap: the outbox's deliveries) is
    written here and commits or rolls back with it. The report rollups are not written
    here: `leads.rollups` folds the events later, so no request waits on a rollup row.
    """
    for event in events:
        event.source, event.actor, event.inbound = source, actor, inbound
    if len(events) == 1:  # nearly always: one statement compiled once
        insert_event(events[0])
    else:
        LeadEvent.objects.bulk_create(events)
    deliveries_record(planned=outbound.planned_deliveries(lead, events))


# --- Creation ----------------------------------------------------------------------------------


def _draft(
    target: Target,
    *,
    app: App,
    goal: Goal | None,
    status: str,
    money: Money,
    params: dict[str, str],
    ip_privacy: str = IpPrivacy.OFF,
) -> Lead:
    """An unsaved lead for the target, priced by its goal (or the offer's rate without one)."""
    kept = {key: value for key, value in params.items() if key not in CONTROL_PARAMETERS}
    lead = Lead(
        organization_id=app.organization_id,
        app_id=app.pk,
        integration_id=target.integration_id,
        partner_id=target.partner_id,
        offer=target.offer,
        link_id=target.link_id,
        click=target.click,
        click_facts=click_facts(target.click),
        goal=goal,
        exto=target.exto,
        status=status,
        currency=target.offer.currency,
        source=_source(target, params),
        params=privacy.stored_params(kept, ip_privacy),
        **_where(params, target.click),
    )
    _set_money(lead, money)
    _price(lead, Terms.of(goal, partner_id=target.partner_id, offer=target.offer))
    return lead


def _where(params: dict[str, str], click: Click | None) -> dict[str, Any]:
    """A conversion's country and network: its own IP's (and `country`), else its click's.

    The sent IP is looked up as sent, before IP privacy truncates what is stored, and its
    country weighed against a `country` parameter in GEOIP_COUNTRY_SOURCES' order. Country
    and network are taken separately: a conversion naming only its country keeps its
    click's network.
    """
    sent_ip = params.get("conversion_ip") or params.get("ip") or ""
    where = geoip.locate(sent_ip, param=geoip.country_code(params.get("country", "")))
    own_network = where.asn is not None or bool(where.as_org)
    if click is None:
        return {"country": where.country, "asn": where.asn, "as_org": where.as_org[:255]}
    return {
        "country": where.country or click.country,
        "asn": where.asn if own_network else click.asn,
        "as_org": where.as_org[:255] if own_network else click.as_org,
    }


def _source(target: Target, params: dict[str, str]) -> str:
    """The partner's source of a conversion: `sub1` as sent, else its click's sub1."""
    return (params.get("sub1") or (target.click.sub1 if target.click is not None else ""))[:255]


def _insert(lead: Lead, target: Target) -> tuple[Lead, bool]:
    """Insert the lead, or find the one that already holds its key (the database decides)."""
    if insert_lead(lead):
        return lead, True
    if not target.keyed:  # no creation key applies, so only a broken database gets here
        raise IntegrityError(f"Lead {lead.exto!r} was refused by a unique constraint it does not name.")
    holder = selectors.lead_by_creation_key(click=target.click, link_id=target.link_id, exto=target.exto)
    return holder, False


def _created_event(lead: Lead) -> LeadEvent:
    return _event(lead, LeadEvent.Kind.CREATED, ("", "", None, None, None, None))


@retry_transient
@transaction.atomic
def lead_create(
    *,
    app: App,
    link: TrackingLink,
    click: Click | None = None,
    exto: str = "",
    goal: Goal | None = None,
    status: str = LeadStatus.NEW,
    revenue: Decimal | None = None,
    payout: Decimal | None = None,
    source: str = Source.SYSTEM,
    actor: Any = None,
) -> tuple[Lead, bool]:
    """Create a lead for a click (or a link), or answer the one that holds the same key."""
    # A click sent to its offer's fallback offer counts for the offer the user saw: the click's.
    offer = click.offer if click is not None else link.offer
    target = Target(click=click, link=None if click else link, offer=offer, exto=exto)
    draft = _draft(target, app=app, goal=goal, status=status, money=Money(revenue, payout), params={})
    lead, created = _insert(draft, target)
    if created:
        _record_changes(lead, [_created_event(lead), *_cap(lead)], source=source, actor=actor)
    return lead, created


# --- Changes asked for by the admin and the API ------------------------------------------------


def _locked(lead: Lead) -> Lead:
    return selectors.with_current_goal(selectors.leads_for_change().get(pk=lead.pk))


def _save(lead: Lead, events: list[LeadEvent], **record: Any) -> bool:
    if not events:
        return False
    update_lead_changes(lead)
    _record_changes(lead, events, **record)
    return True


@retry_transient
@transaction.atomic
def lead_set_status(*, lead: Lead, status: str, source: str, actor: Any = None) -> bool:
    """Move the lead to `status`; False (and no event) when it already is there."""
    locked = _locked(lead)
    changed = _save(locked, _status_change(locked, LeadStatus(status)), source=source, actor=actor)
    lead.refresh_from_db()
    return changed


@retry_transient
@transaction.atomic
def lead_change_goal(*, lead: Lead, goal: Goal, source: str, actor: Any = None) -> bool:
    """Count the lead for another goal of its offer; its money is recalculated from it."""
    if goal.offer_id != lead.offer_id:
        raise ValueError(f"Goal {goal.code} is not a goal of this lead's offer.")
    locked = _locked(lead)
    changed = _save(locked, _goal_change(locked, goal), source=source, actor=actor)
    lead.refresh_from_db()
    return changed


@retry_transient
@transaction.atomic
def lead_set_verdict(*, lead: Lead, verdict: str, source: str, actor: Any = None, note: str = "") -> bool:
    """A manager's override of the screening verdict; False (and no event) when it is already so.

    The rule and reason code that screened the lead stay, so its page still says why it was
    screened; the verdict event says who overrode it. Rejecting withholds the payout,
    un-rejecting restores it; a `cap_reached` lead is overridden the same way (passing it pays
    it, without consuming the cap: the manager decided).
    """
    locked = _locked(lead)
    changed = _save(locked, _verdict_change(locked, Verdict(verdict), note), source=source, actor=actor)
    lead.refresh_from_db()
    return changed


def _verdict_change(lead: Lead, verdict: str, note: str = "") -> list[LeadEvent]:
    if lead.verdict == verdict:
        return []
    before, old = _state(lead), lead.verdict
    lead.verdict = verdict
    if verdict in WITHHOLDING_VERDICTS:
        _withhold(lead)
    elif old in WITHHOLDING_VERDICTS:
        _release(lead)
    event = _event(lead, LeadEvent.Kind.VERDICT, before)
    event.note = f"verdict {old} → {verdict}{': ' + note if note else ''}"[:255]
    return [event]


# --- Screening of new conversions --------------------------------------------------------------


def _conversion_facts(lead: Lead, target: Target, params: dict[str, str], ip_privacy: str) -> screening.Facts:
    """What the rules see of a conversion: its own IP, agent and device, else its click's.

    Its country and network are the lead's own (`_where`: the conversion's IP, else its click's).
    """
    click = target.click
    # The click's IP is stored already as privacy wants it; a sent one is stored the same way.
    sent_ip = params.get("conversion_ip") or params.get("ip") or ""
    ip = privacy.stored_ip(sent_ip, ip_privacy)
    agent = params.get("user_agent", "")
    device = params.get("device_id") or params.get("idfa") or params.get("gaid") or ""
    if click is not None:
        ip = ip or click.ip
        agent = agent or click.user_agent
        device = device or click.idfa or click.gaid or click.android_id or click.device_id
    return screening.Facts(
        ip=ip,
        user_agent=agent,
        device_id=device,
        country=lead.country,
        asn=lead.asn,
        as_org=lead.as_org,
        offer_id=target.offer.pk,
        # A server-to-server postback without a click says nothing of the user's agent.
        user_agent_known=bool(agent) or click is not None,
        click_at=click.created_at if click is not None else None,
        converted_at=lead.created_at,
        window_days=target.offer.attribution_window_days,
    )


def _click_verdict(click: Click | None) -> screening.Screening | None:
    """A conversion of a rejected click is rejected with it, for the click's reason."""
    if click is None or click.verdict != Verdict.REJECTED:
        return None
    details = {"click_id": click.click_id, "screened": "click"}
    return screening.Screening(Verdict.REJECTED, click.verdict_rule_id, click.verdict_reason, details)


def _screen(lead: Lead, target: Target, params: dict[str, str], config: screening.Config) -> list[LeadEvent]:
    """Screen a new lead; a verdict is saved at once with a verdict event saying why."""
    found = screening.screen_conversion(config, _conversion_facts(lead, target, params, config["ip_privacy"]))
    inherited = _click_verdict(target.click)
    if inherited is not None and (found is None or found.verdict != Verdict.REJECTED):
        found = inherited
    if found is None:
        return []
    before = _state(lead)
    for name, value in found.fields().items():
        setattr(lead, name, value)
    _withhold(lead)
    lead.save(update_fields=VERDICT_FIELDS)
    event = _event(lead, LeadEvent.Kind.VERDICT, before)
    event.note = f"screened: {found.verdict} ({found.reason})"[:255]
    return [event]


def _cap(lead: Lead) -> list[LeadEvent]:
    """Claim the caps a new lead counts toward; over a cap it is kept as `cap_reached` and pays nothing.

    A rejected lead claims nothing: it would not pay anyway. Payout caps count the publisher
    payout the lead would pay (before anything is withheld).
    """
    if lead.verdict == Verdict.REJECTED:
        return []
    refusal = caps.caps_claim(
        offer_id=lead.offer_id,
        partner_id=lead.partner_id,
        goal_id=lead.goal_id,
        payout=lead.payout,
        at=lead.created_at,
    )
    if refusal is None:
        return []
    before = _state(lead)
    lead.verdict, lead.verdict_reason, lead.verdict_rule = Verdict.CAP_REACHED, CAP_REACHED_REASON, None
    lead.verdict_details = refusal.details()
    _withhold(lead)
    lead.save(update_fields=VERDICT_FIELDS)
    event = _event(lead, LeadEvent.Kind.VERDICT, before)
    event.note = f"cap reached: {refusal.rule.period} {refusal.rule.metric} cap #{refusal.rule.id}"[:255]
    return [event]


# --- Changes a postback asks for ----------------------------------------------------------------


def lead_insert(
    *,
    app: App,
    target: Target,
    goal: Goal | None,
    status: str,
    money: Money,
    params: dict[str, str],
    fields: dict[str, Any] | None = None,
) -> tuple[Lead, bool, list[LeadEvent]]:
    """Insert the lead the target keys, or find the one that holds the key (then unchanged).

    Without a goal a new lead counts for the offer's default goal. The integration's source
    lists are checked first (a refused source creates nothing); a lead that is really new is
    then screened. The events are recorded by `lead_changes_save`.
    """
    config = linkcache.screening_config(target.integration_id)
    if goal is None:
        goal = selectors.default_goal(offer_id=target.offer.pk, partner_id=target.partner_id)
    draft = _draft(
        target, app=app, goal=goal, status=status, money=money, params=params, ip_privacy=config["ip_privacy"]
    )
    refusal = screening.source_refusal(config, draft.source)
    if refusal:
        raise LeadRefused(422, refusal)
    for name, value in (fields or {}).items():
        setattr(draft, name, value)
    if "created_at" in (fields or {}):  # the conversion's own time: its day's rate
        draft.fx_rate = None
        _rebase(draft)
    lead, created = _insert(draft, target)
    if not created:
        return lead, False, []
    screened = _screen(lead, target, params, config)
    return lead, True, [_created_event(lead), *screened, *_cap(lead)]


def lead_apply(lead: Lead, *, goal: Goal | None, money: Money, status: str | None) -> list[LeadEvent]:
    """Apply a postback's goal, money and status to an existing lead, in that order (in memory)."""
    events = _goal_change(lead, goal) if goal is not None else []
    if money.given:
        events += _money_change(lead, money)
    if status is not None:
        events += _status_change(lead, status)
    return events


def lead_changes_save(
    *,
    lead: Lead,
    events: list[LeadEvent],
    created: bool,
    source: str,
    actor: Any = None,
    inbound: Model | None = None,
) -> None:
    """Save what `lead_insert` / `lead_apply` changed, in the caller's transaction."""
    if events and not created:
        update_lead_changes(lead)
    if events:
        _record_changes(lead, events, source=source, actor=actor, inbound=inbound)

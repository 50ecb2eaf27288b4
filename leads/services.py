"""Writes of leads: creation, status, goal and money changes, and the postbacks that ask for them.

Every change of a lead passes through `_record_changes`, inside the transaction that made
it: the lead row, its events and (for postbacks) the inbound log row commit together.

Postback processing, in short (SPEC 4.2, 4.3):
- the target is the click (`click`), else the tracking link (`flow` id or `code`), always
  among the token's app's own;
- the key is (click, exto), (click alone), or (link, exto); a link without exto is no key.
  Creation inserts inside a savepoint and, when the database's unique constraint says the
  key exists, answers that lead (`created: false`): never check-then-create;
- a status postback finds its lead by the key (locked for the change), or creates it with
  `stn` / `auto=1`; the same status twice changes nothing.

Screening (SPEC 4.4), on creation only: a source the integration's lists keep out is
refused (422, logged, kept for replay); a new lead is then screened by the integration's
conversion rules, and a lead on a rejected click is rejected with it. A rejected lead pays
nothing: its payout is held at 0 whatever later postbacks say (`_withhold`), the amount it
would pay is kept in `verdict_details["withheld_payout"]` and restored when a manager
overrides the verdict (`lead_set_verdict`, which records a verdict event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.inserts import RowInsert
from leads import linkcache, privacy, screening, selectors
from leads.models import Click, Lead, LeadEvent, LeadStatus, Verdict
from leads.statuses import StatusMatch, UnknownStatus, recognize_status
from partners.models import App, Goal, Integration, IpPrivacy, Offer, PayoutType, TrackingLink
from postbacks.models import InboundPostback
from postbacks.services import Arrival, deliveries_record, inbound_log
from reports.services import rollup_lead_events

# A lead's creation is one INSERT … ON CONFLICT DO NOTHING: the creation keys' unique
# constraints decide between racing postbacks, without a savepoint.
insert_lead = RowInsert(Lead, ignore_conflicts=True)
insert_event = RowInsert(LeadEvent)

Endpoint = InboundPostback.Endpoint
Outcome = InboundPostback.Outcome
Source = LeadEvent.Source

FOUR_PLACES = Decimal("0.0001")
MAX_AMOUNT = Decimal("10000000000")  # Lead money has 10 integer digits.
# Postback parameters that steer the processing; everything else is kept on the lead.
CONTROL_PARAMETERS = frozenset(
    {"token", "click", "exto", "flow", "code", "goal", "status", "auto", "pay", "wm", "cc"}
    | {"sta", "stc", "stt", "sth", "stw", "stn", "offer", "publisher", "advertiser"}
)
# Conversion API (24metrics seed) name → the postback parameter it stands for.
CONVERSION_NAMES = {
    "sub_id": "click",
    "external_transaction_id": "exto",
    "third_party_status": "status",
    "revenue": "pay",
    "payout": "wm",
    "currency": "cc",
}
CONVERSION_FIELDS = (
    *CONVERSION_NAMES,
    "advertiser",
    "publisher",
    "offer",
    "conversion_time",
    "conversion_ip",
    "user_agent",
    "referer",
    "click_time",
    "third_party_rejected_reason",
    "browser_languages",
    "device_id",
    "purchase_value",
    "session_time",
)
CHANGE_FIELDS = [
    "status",
    "status_changed_at",
    "goal",
    "payout",
    "revenue",
    "currency",
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
VERDICT_FIELDS = ["verdict", "verdict_reason", "verdict_rule", "verdict_details", "payout", "updated_at"]
WITHHELD = "withheld_payout"


class PostbackRefused(Exception):
    """A postback we understood (or could not) and refuse: answered and logged as rejected."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


def _refuse(http_status: int, message: str) -> NoReturn:
    raise PostbackRefused(http_status, message)


@dataclass(frozen=True)
class Scope:
    """What a token reaches: one app's clicks, links and leads (one integration's, for a partner)."""

    app: App
    integration: Integration | None = None


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


@dataclass(frozen=True)
class PostbackResult:
    """What we answered and the inbound log row that keeps it."""

    http_status: int
    body: dict[str, Any]
    inbound: InboundPostback


# --- Answers -------------------------------------------------------------------------------


def money_text(value: Decimal) -> str:
    """Money as a string with at least two decimals: 1.5 → "1.50", 1.2345 → "1.2345"."""
    value = Decimal(value).normalize()
    return str(value.quantize(Decimal("0.01"))) if value.as_tuple().exponent > -2 else f"{value:f}"


def lead_answer(lead: Lead, *, created: bool) -> dict[str, Any]:
    """The SPEC 8 answer for a taken request."""
    return {
        "ok": True,
        "lead": {
            "id": lead.pk,
            "status": lead.status,
            "goal": lead.goal.code if lead.goal_id else None,
            "payout": money_text(lead.payout),
            "revenue": money_text(lead.revenue),
            "currency": lead.currency,
            "exto": lead.exto,
            "click_id": lead.click.click_id if lead.click_id else None,
        },
        "created": created,
    }


def error_answer(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


# --- Reading a postback's parameters ---------------------------------------------------------


def _amount(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name, "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        _refuse(400, f"Parameter {name}=“{raw}” is not a number: send a decimal such as 10.50.")
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        _refuse(400, f"Parameter {name}=“{raw}” is out of range: send an amount from 0 to 9999999999.")
    return value.quantize(FOUR_PLACES)


def _money(params: dict[str, str]) -> Money:
    currency = params.get("cc", "").upper()
    if currency and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        _refuse(400, f"Parameter cc=“{params['cc']}” is not a currency code: send three letters such as EUR.")
    return Money(revenue=_amount(params, "pay"), payout=_amount(params, "wm"), currency=currency)


def _exto(params: dict[str, str]) -> str:
    exto = params.get("exto", "")
    if len(exto) > 255:
        _refuse(400, "Parameter exto is longer than 255 characters.")
    return exto


def _integer(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name, "")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        _refuse(400, f"Parameter {name}=“{raw}” must be a number (the id shown in the admin).")
    return int(raw)


def _link(scope: Scope, params: dict[str, str]) -> TrackingLink:
    """The tracking link named by flow, code, or (conversion API) offer + publisher."""
    where = {"app_id": scope.app.pk, "integration_id": scope.integration.pk if scope.integration else None}
    flow, code = _integer(params, "flow"), params.get("code", "")
    if flow is not None or code:
        link = selectors.link_in_scope(**where, flow=flow, code=code)
        if link is None:
            _refuse(404, f"Tracking link not found: no flow “{params.get('flow') or code}” for this token.")
        return link
    offer, publisher = _integer(params, "offer"), _integer(params, "publisher")
    if offer is None or publisher is None:
        _refuse(400, "Name the conversion: send click (our click id), or flow or code (the tracking link).")
    links = selectors.links_for_offer_and_partner(**where, offer_id=offer, partner_id=publisher)
    if not links:
        _refuse(404, f"Tracking link not found: publisher {publisher} has no link to offer {offer}.")
    if len(links) > 1:
        _refuse(422, f"Publisher {publisher} has several links to offer {offer}: send flow or code.")
    return links[0]


def _target(scope: Scope, params: dict[str, str]) -> Target:
    exto = _exto(params)
    click_id = params.get("click", "")
    if not click_id:
        link = _link(scope, params)
        return Target(click=None, link=link, offer=link.offer, exto=exto)
    click = selectors.click_in_scope(
        app_id=scope.app.pk,
        integration_id=scope.integration.pk if scope.integration else None,
        click_id=click_id,
    )
    if click is None:
        _refuse(404, f"Click not found: “{click_id}” is not a click of this token's app.")
    return Target(click=click, link=None, offer=click.offer, exto=exto)


def _goal(params: dict[str, str], target: Target, *, default: bool) -> Goal | None:
    """The goal `goal=` names (code or alias); without it the offer's default when asked for."""
    code = params.get("goal", "")
    if not code:
        if not default:
            return None
        return selectors.default_goal(offer_id=target.offer.pk, partner_id=target.partner_id)
    goal = selectors.goal_for_code(offer_id=target.offer.pk, partner_id=target.partner_id, code=code)
    if goal is None:
        known = ", ".join(selectors.goal_codes(target.offer.pk)) or "none are set up"
        _refuse(422, f"Unknown goal “{code}” for offer {target.offer.name}: known codes are {known}.")
    return goal


def _status(params: dict[str, str], *, required: bool) -> StatusMatch | None:
    value = params.get("status", "")
    if not value:
        if required:
            _refuse(400, "Missing status: send status=<your status word>, e.g. status=approved.")
        return None
    try:
        return recognize_status(value, params)
    except UnknownStatus as exc:
        _refuse(422, str(exc))


def conversion_params(params: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """The conversion API's parameters (renamed by the integration's mapping) as postback ones."""
    translated = dict(params)
    for ours in CONVERSION_FIELDS:
        theirs = mapping.get(ours, ours)
        if theirs != ours and theirs in params:
            translated[ours] = params[theirs]
    for name, postback_name in CONVERSION_NAMES.items():
        if translated.get(name) and not translated.get(postback_name):
            translated[postback_name] = translated[name]
    return translated


def _conversion_time(params: dict[str, str]) -> datetime | None:
    raw = params.get("conversion_time", "")
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        _refuse(400, f"conversion_time=“{raw}” is not a time: send YYYY-MM-DD hh:mm:ss (UTC).")


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
    if money.currency:
        lead.currency = money.currency
    _withhold(lead)


def _withhold(lead: Lead) -> None:
    """A rejected lead pays nothing; what it would pay is kept to restore on an override."""
    if lead.verdict == Verdict.REJECTED and lead.payout:
        lead.verdict_details = {**lead.verdict_details, WITHHELD: str(lead.payout)}
        lead.payout = Decimal("0")


def _release(lead: Lead) -> None:
    """A lead no longer rejected pays again: the withheld amount, else what its goal computes."""
    details = dict(lead.verdict_details)
    withheld = details.pop(WITHHELD, None)
    lead.verdict_details = details
    if withheld is not None:
        lead.payout = Decimal(withheld)
    elif not lead.payout_set_by_postback:
        _price(lead, Terms.of(lead.goal, partner_id=lead.partner_id, offer=lead.offer))


State = tuple[str, str, Decimal | None, Decimal | None]


def _event(lead: Lead, kind: str, before: State) -> LeadEvent:
    """An event from the lead's (status, goal code, payout, revenue) before to what it is now."""
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
    )


def _state(lead: Lead) -> State:
    return lead.status, lead.goal.code if lead.goal_id else "", lead.payout, lead.revenue


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
    inbound: InboundPostback | None = None,
) -> None:
    """Keep a lead's changes as events: the one place every change of a lead passes through.

    It runs inside the transaction that changed the lead, so whatever a change must cause
    (partner and publisher postbacks, status sync, CleverTap: the outbox's deliveries) is
    written here and commits or rolls back with it.
    """
    for event in events:
        event.source, event.actor, event.inbound = source, actor, inbound
    if len(events) == 1:  # nearly always: one statement compiled once
        insert_event(events[0])
    else:
        LeadEvent.objects.bulk_create(events)
    rollup_lead_events(lead=lead, events=events)
    deliveries_record(lead=lead, events=events)


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
        goal=goal,
        exto=target.exto,
        status=status,
        currency=target.offer.currency,
        source=_source(target, params),
        params=privacy.stored_params(kept, ip_privacy),
    )
    _set_money(lead, money)
    _price(lead, Terms.of(goal, partner_id=target.partner_id, offer=target.offer))
    return lead


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
    return _event(lead, LeadEvent.Kind.CREATED, ("", "", None, None))


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
    target = Target(click=click, link=None if click else link, offer=link.offer, exto=exto)
    draft = _draft(target, app=app, goal=goal, status=status, money=Money(revenue, payout), params={})
    lead, created = _insert(draft, target)
    if created:
        _record_changes(lead, [_created_event(lead)], source=source, actor=actor)
    return lead, created


# --- Changes asked for by the admin and the API ------------------------------------------------


def _locked(lead: Lead) -> Lead:
    return selectors.leads_for_change().get(pk=lead.pk)


def _save(lead: Lead, events: list[LeadEvent], **record: Any) -> bool:
    if not events:
        return False
    lead.save(update_fields=CHANGE_FIELDS)
    _record_changes(lead, events, **record)
    return True


@transaction.atomic
def lead_set_status(*, lead: Lead, status: str, source: str, actor: Any = None) -> bool:
    """Move the lead to `status`; False (and no event) when it already is there."""
    locked = _locked(lead)
    changed = _save(locked, _status_change(locked, LeadStatus(status)), source=source, actor=actor)
    lead.refresh_from_db()
    return changed


@transaction.atomic
def lead_change_goal(*, lead: Lead, goal: Goal, source: str, actor: Any = None) -> bool:
    """Count the lead for another goal of its offer; its money is recalculated from it."""
    if goal.offer_id != lead.offer_id:
        raise ValueError(f"Goal {goal.code} is not a goal of this lead's offer.")
    locked = _locked(lead)
    changed = _save(locked, _goal_change(locked, goal), source=source, actor=actor)
    lead.refresh_from_db()
    return changed


@transaction.atomic
def lead_set_verdict(*, lead: Lead, verdict: str, source: str, actor: Any = None, note: str = "") -> bool:
    """A manager's override of the screening verdict; False (and no event) when it is already so.

    The rule and reason code that screened the lead stay, so its page still says why it was
    screened; the verdict event says who overrode it. Rejecting withholds the payout,
    un-rejecting restores it.
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
    if verdict == Verdict.REJECTED:
        _withhold(lead)
    elif old == Verdict.REJECTED:
        _release(lead)
    event = _event(lead, LeadEvent.Kind.VERDICT, before)
    event.note = f"verdict {old} → {verdict}{': ' + note if note else ''}"[:255]
    return [event]


# --- Screening of new conversions --------------------------------------------------------------


def _conversion_facts(lead: Lead, target: Target, params: dict[str, str], ip_privacy: str) -> screening.Facts:
    """What the rules see of a conversion: its own IP, agent, device and country, else its click's."""
    click = target.click
    # The click's IP is stored already as privacy wants it; a sent one is stored the same way.
    ip = privacy.stored_ip(params.get("conversion_ip") or params.get("ip") or "", ip_privacy)
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
        country=(params.get("country") or (click.country if click is not None else "")).upper()[:2],
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


# --- Postbacks ---------------------------------------------------------------------------------


@dataclass
class Applied:
    """What a postback did to which lead, before it is logged and saved."""

    lead: Lead
    outcome: str
    events: list[LeadEvent]


def _update(lead: Lead, *, goal: Goal | None, money: Money, status: str | None) -> Applied:
    """Apply a postback's goal, money and status to an existing lead, in that order."""
    events = _goal_change(lead, goal) if goal is not None else []
    if money.given:
        events += _money_change(lead, money)
    if status is not None:
        events += _status_change(lead, status)
    return Applied(lead, Outcome.UPDATED if events else Outcome.UNCHANGED, events)


def _create(
    scope: Scope,
    target: Target,
    params: dict[str, str],
    *,
    status: str,
    money: Money,
    update_status: str | None = None,
    duplicate: bool = False,
    fields: dict[str, Any] | None = None,
) -> Applied:
    """Create the lead; when its key is taken, answer the holder as a duplicate or update it.

    The integration's source lists are checked first (a refused source creates nothing); a
    lead that is really new is then screened.
    """
    config = linkcache.screening_config(target.integration_id)
    goal = _goal(params, target, default=True)
    draft = _draft(
        target,
        app=scope.app,
        goal=goal,
        status=status,
        money=money,
        params=params,
        ip_privacy=config["ip_privacy"],
    )
    refusal = screening.source_refusal(config, draft.source)
    if refusal:
        _refuse(422, refusal)
    for name, value in (fields or {}).items():
        setattr(draft, name, value)
    lead, created = _insert(draft, target)
    if created:
        return Applied(lead, Outcome.CREATED, [_created_event(lead), *_screen(lead, target, params, config)])
    if duplicate:
        return Applied(lead, Outcome.DUPLICATE, [])
    return _update(lead, goal=_goal(params, target, default=False), money=money, status=update_status)


def _lead_postback(scope: Scope, params: dict[str, str]) -> Applied:
    """`/postback/lead`: create, or answer the lead that holds the key (idempotent)."""
    match = _status(params, required=False)
    money = _money(params)
    target = _target(scope, params)
    status = match.status if match else LeadStatus.NEW
    return _create(scope, target, params, status=status, money=money, duplicate=True)


def _existing_lead(target: Target) -> Lead | None:
    """The one lead a status postback's key names; refused when the key names several."""
    if target.click is None and not target.exto:
        _refuse(422, "A status postback by flow or code needs exto (your lead id): send exto.")
    leads = list(selectors.leads_by_key(click=target.click, link_id=target.link_id, exto=target.exto)[:2])
    if len(leads) > 1:
        if target.click is not None:
            _refuse(422, "several leads on this click: send exto.")
        _refuse(422, "several leads with this exto on this flow: send click.")
    return leads[0] if leads else None


def _status_target(scope: Scope, params: dict[str, str]) -> tuple[Target, Lead | None]:
    """A status postback's target and the lead it names; by click, one query finds both."""
    click_id, exto = params.get("click", ""), _exto(params)
    if click_id:
        leads = selectors.leads_by_click_id(
            app_id=scope.app.pk,
            integration_id=scope.integration.pk if scope.integration else None,
            click_id=click_id,
            exto=exto,
        )
        if len(leads) == 1:
            click = leads[0].click
            return Target(click=click, link=None, offer=click.offer, exto=exto), leads[0]
    # No lead, or several: the step by step lookup says which, or creates the lead.
    target = _target(scope, params)
    return target, _existing_lead(target)


def _status_postback(scope: Scope, params: dict[str, str]) -> Applied:
    """`/postback/status`: change the lead's status; `stn` or `auto=1` may create it."""
    match = _status(params, required=True)
    money = _money(params)
    target, lead = _status_target(scope, params)
    if lead is not None:
        goal = _goal(params, target, default=False)
        return _update(lead, goal=goal, money=money, status=match.status)
    if match.by_stn:
        return _create(scope, target, params, status=LeadStatus.NEW, money=money, update_status=match.status)
    if params.get("auto") == "1" and not selectors.click_has_leads(target.click):
        return _create(scope, target, params, status=match.status, money=money, update_status=match.status)
    _refuse(404, "Lead not found: create it first, or send stn=<your new status> or auto=1 to create it.")


def _conversion(scope: Scope, params: dict[str, str]) -> Applied:
    """`/api/v1/conversions`: create the lead, or update the one that holds the key."""
    match = _status(params, required=False)
    money = _money(params)
    fields: dict[str, Any] = {
        "third_party_status": params.get("third_party_status", "")[:100],
        "third_party_rejected_reason": params.get("third_party_rejected_reason", "")[:255],
    }
    created_at = _conversion_time(params)
    if created_at is not None:
        fields["created_at"] = created_at
    target = _target(scope, params)
    status = match.status if match else None
    applied = _create(
        scope,
        target,
        params,
        status=status or LeadStatus.NEW,
        money=money,
        update_status=status,
        fields=fields,
    )
    if applied.outcome != Outcome.CREATED:
        applied.lead.third_party_status = fields["third_party_status"] or applied.lead.third_party_status
        applied.lead.third_party_rejected_reason = (
            fields["third_party_rejected_reason"] or applied.lead.third_party_rejected_reason
        )
    return applied


HANDLERS = {
    Endpoint.LEAD: _lead_postback,
    Endpoint.STATUS: _status_postback,
    Endpoint.CONVERSION: _conversion,
}


def _stored_arrival(arrival: Arrival, ip_privacy: Callable[[], str]) -> Arrival:
    """The request as the inbound log keeps it; privacy is looked up only when it carries an IP."""
    return privacy.stored_arrival(arrival, ip_privacy()) if privacy.carries_ip(arrival.params) else arrival


def _scope_ip_privacy(scope: Scope) -> str:
    """A refused request is tied to no lead: the strictest privacy of the integrations it may be for."""
    return scope.integration.ip_privacy if scope.integration else privacy.app_privacy(scope.app.pk)


@transaction.atomic
def lead_apply_postback(
    *, scope: Scope, arrival: Arrival, replay_of: InboundPostback | None = None, actor: Any = None
) -> PostbackResult:
    """Apply one lead, status or conversion postback; raises PostbackRefused with the answer.

    The lead, its events and the inbound log row commit together; a refusal rolls all
    of it back (the caller logs the refusal outside this transaction).
    """
    params = arrival.params
    if arrival.endpoint == Endpoint.CONVERSION:
        params = conversion_params(params, scope.integration.inbound_mapping if scope.integration else {})
    applied = HANDLERS[arrival.endpoint](scope, params)
    lead = applied.lead
    if applied.events and applied.outcome != Outcome.CREATED:
        lead.save(update_fields=CHANGE_FIELDS)
    inbound = inbound_log(
        arrival=_stored_arrival(
            arrival, lambda: linkcache.screening_config(lead.integration_id)["ip_privacy"]
        ),
        outcome=applied.outcome,
        http_status=200,
        organization_id=scope.app.organization_id,
        app=scope.app,
        integration=scope.integration,
        lead=lead,
        replay_of=replay_of,
    )
    _record_changes(lead, applied.events, source=Source.POSTBACK, actor=actor, inbound=inbound)
    return PostbackResult(200, lead_answer(lead, created=applied.outcome == Outcome.CREATED), inbound)


def postback_process(
    *, scope: Scope, arrival: Arrival, replay_of: InboundPostback | None = None, actor: Any = None
) -> PostbackResult:
    """Apply a postback and answer it; a refusal is logged (and kept for replay) all the same."""
    try:
        return lead_apply_postback(scope=scope, arrival=arrival, replay_of=replay_of, actor=actor)
    except PostbackRefused as refusal:
        inbound = inbound_log(
            arrival=_stored_arrival(arrival, lambda: _scope_ip_privacy(scope)),
            outcome=Outcome.REJECTED,
            http_status=refusal.http_status,
            reason=refusal.message,
            organization_id=scope.app.organization_id,
            app=scope.app,
            integration=scope.integration,
            replay_of=replay_of,
        )
        return PostbackResult(refusal.http_status, error_answer(refusal.message), inbound)

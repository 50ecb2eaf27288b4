"""The lead protocol (SPEC 4.2, 4.3): what a lead, status or conversion postback asks of a lead.

- The target is the click (`click`), else the tracking link (`flow` id or `code`, or for the
  conversion API `offer` + `publisher`), always among the token's app's own.
- The key is (click, exto), (click alone), or (link, exto); a link without exto is no key.
  Creation is `leads.services.lead_insert`: the database's unique constraints decide, and a
  repeated creation answers the lead that holds the key (`created: false`).
- A status postback finds its lead by the key (locked for the change), or creates it with
  `stn` / `auto=1`; the same status twice changes nothing.
- The answer, the lead change and the inbound log row commit together; a refusal rolls the
  change back and is logged on its own (kept for replay). A failure of ours is the caller's
  (`ingest.log.failure_keep`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.db import transaction

from config import trace
from config.money import money_text
from config.transient import retry_transient
from ingest.log import Arrival, inbound_log
from ingest.models import InboundPostback
from leads import linkcache, privacy, selectors
from leads.models import Lead, LeadEvent, LeadStatus
from leads.services import (
    FOUR_PLACES,
    LeadRefused,
    Money,
    Target,
    lead_apply,
    lead_changes_save,
    lead_insert,
)
from leads.statuses import StatusMatch, UnknownStatus, recognize_status
from partners.models import App, Goal, Integration, TrackingLink

Endpoint = InboundPostback.Endpoint
Outcome = InboundPostback.Outcome
Source = LeadEvent.Source

MAX_AMOUNT = Decimal("10000000000")  # Lead money has 10 integer digits.
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


@dataclass(frozen=True)
class Scope:
    """What a token reaches: one app's clicks, links and leads (one integration's, for a partner)."""

    app: App
    integration: Integration | None = None


@dataclass(frozen=True)
class PostbackResult:
    """What we answered and the inbound log row that keeps it."""

    http_status: int
    body: dict[str, Any]
    inbound: InboundPostback


@dataclass
class Applied:
    """What a postback did to which lead, before it is logged and saved."""

    lead: Lead
    outcome: str
    events: list[LeadEvent]


def _refuse(http_status: int, message: str) -> NoReturn:
    raise LeadRefused(http_status, message)


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
            "click_id": getattr(lead.click_seen, "click_id", None),
        },
        "created": created,
    }


def error_answer(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


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
        trace.note("target", named_by="flow" if flow is not None else "code")
        return link
    offer, publisher = _integer(params, "offer"), _integer(params, "publisher")
    if offer is None or publisher is None:
        _refuse(400, "Name the conversion: send click (our click id), or flow or code (the tracking link).")
    links = selectors.links_for_offer_and_partner(**where, offer_id=offer, partner_id=publisher)
    if not links:
        _refuse(404, f"Tracking link not found: publisher {publisher} has no link to offer {offer}.")
    if len(links) > 1:
        _refuse(422, f"Publisher {publisher} has several links to offer {offer}: send flow or code.")
    trace.note("target", named_by="offer and publisher")
    return links[0]


def _target(scope: Scope, params: dict[str, str]) -> Target:
    exto = _exto(params)
    click_id = params.get("click", "")
    if not click_id:
        link = _link(scope, params)
        trace.note("target", click=None, link=link, exto=exto)
        return Target(click=None, link=link, offer=link.offer, exto=exto)
    click = selectors.click_in_scope(
        app_id=scope.app.pk,
        integration_id=scope.integration.pk if scope.integration else None,
        click_id=click_id,
    )
    if click is None:
        _refuse(404, f"Click not found: “{click_id}” is not a click of this token's app.")
    trace.note("target", click=click, link=None, exto=exto, named_by="click")
    return Target(click=click, link=None, offer=click.offer, exto=exto)


def _goal(params: dict[str, str], target: Target) -> Goal | None:
    """The goal `goal=` names (code or alias); None when it names none."""
    code = params.get("goal", "")
    if not code:
        return None
    goal = selectors.goal_for_code(offer_id=target.offer.pk, partner_id=target.partner_id, code=code)
    if goal is None:
        known = ", ".join(selectors.goal_codes(target.offer.pk)) or "none are set up"
        _refuse(422, f"Unknown goal “{code}” for offer {target.offer.name}: known codes are {known}.")
    trace.note("goal", sent=code, goal=goal.code)
    return goal


def _status(params: dict[str, str], *, required: bool) -> StatusMatch | None:
    value = params.get("status", "")
    if not value:
        if required:
            _refuse(400, "Missing status: send status=<your status word>, e.g. status=approved.")
        return None
    try:
        match = recognize_status(value, params)
    except UnknownStatus as exc:
        _refuse(422, str(exc))
    trace.note("status", sent=value, status=match.status, parameter=match.parameter)
    return match


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


def _update(lead: Lead, *, goal: Goal | None, money: Money, status: str | None) -> Applied:
    """Apply a postback's goal, money and status to an existing lead."""
    events = lead_apply(lead, goal=goal, money=money, status=status)
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
    """Create the lead; when its key is taken, answer the holder as a duplicate or update it."""
    goal = _goal(params, target)
    lead, created, events = lead_insert(
        app=scope.app, target=target, goal=goal, status=status, money=money, params=params, fields=fields
    )
    if created:
        return Applied(lead, Outcome.CREATED, events)
    if duplicate:
        return Applied(lead, Outcome.DUPLICATE, [])
    return _update(lead, goal=goal, money=money, status=update_status)


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
    found = selectors.leads_by_key(click=target.click, link_id=target.link_id, exto=target.exto)[:2]
    leads = [selectors.with_current_goal(lead) for lead in found]
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
            trace.note("target", click=click, link=None, exto=exto, named_by="click")
            return Target(click=click, link=None, offer=click.offer, exto=exto), leads[0]
    # No lead, or several: the step by step lookup says which, or creates the lead.
    target = _target(scope, params)
    return target, _existing_lead(target)


def _status_postback(scope: Scope, params: dict[str, str]) -> Applied:
    """`/postback/status`: change the lead's status; `stn` or `auto=1` may create it."""
    match = _status(params, required=True)
    money = _money(params)
    status, (target, lead) = match.status, _status_target(scope, params)
    if lead is None and match.by_stn:
        return _create(scope, target, params, status=LeadStatus.NEW, money=money, update_status=status)
    if lead is None and params.get("auto") == "1":
        if not selectors.click_has_leads(target.click):
            return _create(scope, target, params, status=status, money=money, update_status=status)
        # A creation postback committed its lead since the lookup above: the status is for it.
        lead = _existing_lead(target)
    if lead is None:
        _refuse(404, "Lead not found: create it first, or send stn=<your new status> or auto=1 to create it.")
    return _update(lead, goal=_goal(params, target), money=money, status=status)


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


def _stored_arrival(arrival: Arrival, ip_privacy: Callable[[], str]) -> Arrival:
    """The request as the inbound log keeps it; privacy is looked up only when it carries an IP."""
    return privacy.stored_arrival(arrival, ip_privacy()) if privacy.carries_ip(arrival.params) else arrival


def _scope_ip_privacy(scope: Scope) -> str:
    """A refused request is tied to no lead: the strictest privacy of the integrations it may be for."""
    return scope.integration.ip_privacy if scope.integration else privacy.app_privacy(scope.app.pk)


@retry_transient
@transaction.atomic
def lead_apply_postback(
    *, scope: Scope, arrival: Arrival, replay_of: InboundPostback | None = None, actor: Any = None
) -> PostbackResult:
    """Apply one lead, status or conversion postback; raises LeadRefused with the answer.

    The lead, its events and the inbound log row commit together; a refusal rolls all
    of it back (the caller logs the refusal outside this transaction).
    """
    params = arrival.params
    if arrival.endpoint == Endpoint.CONVERSION:
        params = conversion_params(params, scope.integration.inbound_mapping if scope.integration else {})
        trace.note("params", read_as=params)
    applied = HANDLERS[arrival.endpoint](scope, params)
    lead = applied.lead
    created = applied.outcome == Outcome.CREATED
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
    lead_changes_save(
        lead=lead,
        events=applied.events,
        created=created,
        source=Source.POSTBACK,
        actor=actor,
        inbound=inbound,
    )
    return PostbackResult(200, lead_answer(lead, created=created), inbound)


def postback_process(
    *, scope: Scope, arrival: Arrival, replay_of: InboundPostback | None = None, actor: Any = None
) -> PostbackResult:
    """Apply a postback and answer it; a refusal is logged (and kept for replay) all the same."""
    try:
        return lead_apply_postback(scope=scope, arrival=arrival, replay_of=replay_of, actor=actor)
    except LeadRefused as refusal:
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


HANDLERS = {
    Endpoint.LEAD: _lead_postback,
    Endpoint.STATUS: _status_postback,
    Endpoint.CONVERSION: _conversion,
}

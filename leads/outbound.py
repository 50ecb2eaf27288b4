"""What a change of a lead sends out: the lead's macro values and the deliveries it causes.

Pure of writes: `planned_deliveries` returns unsaved `Delivery` rows, which
`leads.services` hands to `postbacks.services.deliveries_record` in the transaction that
changed the lead. The postbacks app then sends them, knowing nothing of leads.

- **Partner postback** (SPEC 5.1): the integration's active template for the event — the one
  for the lead's goal if there is one, else the install template (no goal). A lead's creation
  fires the "conversion" templates, a status change the "status" templates.
- **Publisher postback** (SPEC 5.2): the partner's own `publisher_postback_url`, on a lead's
  creation and when its status moves into or out of "approved" (the publisher's earnings change).
- **Status sync** (SPEC 5.3): the integration's `status_sync_url`, on every status change.
- **CleverTap** (SPEC 5.4): the app's destination, on a lead's creation (see `clevertap_event`).

Every delivery names its destination (`destination_key`, see postbacks.pausing); one planned
for a paused destination is written `paused` and waits there until a manager resumes it.

A lead whose verdict is "rejected" (screening) or "cap_reached" (over a cap) is not posted back
as a conversion to its partner or publisher and never reported to CleverTap as an attribution;
status sync still follows it.
A partner whose conversion template carries `{reject_reason}` asks to hear of rejections: it
is sent that template on the rejected lead's creation, with `{status}` = `rejected` and
`{reject_reason}` the reason code (`cap_reached` for a lead over a cap).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from django.utils import timezone

from config.money import money_text
from leads.linkcache import SUBS, OutboundConfig, outbound_config
from leads.models import WITHHOLDING_VERDICTS, Click, Lead, LeadEvent, LeadStatus
from leads.privacy import truncate_ip
from partners.macros import REJECTED_STATUS, REJECTION_MACRO, render, render_text, uses_macro
from partners.models import Integration, IpPrivacy, Offer, Platform, PostbackTemplate
from postbacks import clevertap
from postbacks.models import CleverTapDestination, Delivery
from postbacks.outbound import MASK
from postbacks.pausing import CLEVERTAP, PUBLISHER, STATUS_SYNC, TEMPLATE, destination_key

Kind = Delivery.Kind
CONVERSION = PostbackTemplate.Event.CONVERSION
STATUS = PostbackTemplate.Event.STATUS

# Lead parameters that name the CleverTap ID the app's SDK reported, best first.
CLEVERTAP_ID_PARAMS = ("ct_id", "device_identifier")
# Lead parameters `ct_<name>=value` go to CleverTap as `<name>=value` (extra parameters).
CLEVERTAP_EXTRA_PREFIX = "ct_"
INSTALL_GOAL = "install"
# A CleverTap URL keeps `account_passcode=***`; the passcode stays encrypted until sent.
# The placeholder is alphanumeric, so it passes clevertap.clean_credential when building.
PASSCODE_PLACEHOLDER = "PASSCODEATSENDTIME"
MASK_QUOTED = quote(MASK, safe="")


def _money(value: Decimal | None) -> str:
    return money_text(value) if value is not None else ""


def lead_for_delivery(lead_id: int) -> Lead:
    """The lead with everything its macro values and deliveries read, in one query."""
    return Lead.objects.select_related(
        "click",
        "offer",
        "app__clevertap",
        "partner__default_channel",
        "goal",
        "link",
        "integration__channel",
    ).get(pk=lead_id)


def lead_macro_values(lead: Lead) -> dict[str, object]:
    """Every macro's value for this lead (SPEC 3.2); a value the lead lacks is left out (renders empty).

    Device, sub ids and place come from the lead's click (sub ids from the tracking link when the
    lead came without a click); the IP is obfuscated unless the integration's IP privacy is off.
    """
    # The click as the lead copied it: its row may be gone with its partition (retention).
    click, link, goal = lead.click_seen, lead.link, lead.goal
    channel = lead.integration.channel or lead.partner.default_channel
    values: dict[str, object] = {
        "app_id": lead.app_id,
        "app_name": lead.app.name,
        "partner_name": lead.partner.name,
        "channel": channel.name if channel else None,
        "campaign_id": lead.offer_id,
        "campaign_name": lead.offer.name,
        "landing_id": link.landing_id,
        "goal": goal.code if goal else None,
        "event_name": goal.name if goal else None,
        "lead_id": lead.pk,
        "exto": lead.exto,
        "status": lead.status,
        "payout": _money(lead.payout),
        "aff_payout": _money(lead.payout),
        "revenue": _money(lead.revenue),
        "currency": lead.currency,
        "conversion_time": lead.created_at,
        "timestamp": int(timezone.now().timestamp()),
        "platform": lead.app.platform,
        "reject_reason": lead.verdict_reason if lead.verdict in WITHHOLDING_VERDICTS else None,
        **{name: getattr(link, name) for name in SUBS},
    }
    if click is not None:
        values.update(_click_values(click, lead.integration))
    return values


def _click_values(click: Click, integration: Integration) -> dict[str, object]:
    """The click's part of the macro values; its non-empty sub ids win over the link's defaults."""
    ids = ("click_id", "partner_click_id", "ref_id", "creative_id", "idfa", "gaid", "android_id")
    return {
        **{name: getattr(click, name) for name in ids},
        **{name: getattr(click, name) for name in SUBS if getattr(click, name)},
        "landing_id": click.landing_id,
        "click_time": click.created_at,
        "device_id": click.idfa or click.gaid or click.android_id or click.device_id,
        "os": click.os,
        "device_type": click.device_type,
        "ip": click.ip if integration.ip_privacy == IpPrivacy.OFF else truncate_ip(click.ip),
        "user_agent": click.user_agent,
        "country": click.country,
        "language": click.language,
    }


@dataclass(frozen=True)
class Trigger:
    """One change of a lead that may send something: a creation or a status change."""

    event: LeadEvent
    created: bool
    from_status: str
    to_status: str


def _triggers(events: Iterable[LeadEvent]) -> list[Trigger]:
    triggers = []
    for event in events:
        if event.kind == LeadEvent.Kind.CREATED:
            triggers.append(Trigger(event, True, "", event.to_status))
        elif event.kind == LeadEvent.Kind.STATUS:
            triggers.append(Trigger(event, False, event.from_status, event.to_status))
    return triggers


def _approval_changed(trigger: Trigger) -> bool:
    return (trigger.from_status == LeadStatus.APPROVED) != (trigger.to_status == LeadStatus.APPROVED)


def _may_send(config: OutboundConfig, triggers: Iterable[Trigger]) -> bool:
    """Whether any of these changes can cause a delivery (before looking at the lead itself)."""
    for trigger in triggers:
        if trigger.created and (config.templates or config.publisher_url or config.clevertap):
            return True
        if not trigger.created and (
            config.status_sync_url
            or any(t.event == STATUS for t in config.templates)
            or (config.publisher_url and _approval_changed(trigger))
        ):
            return True
    return False


def planned_deliveries(lead: Lead, events: Iterable[LeadEvent]) -> list[Delivery]:
    """The unsaved deliveries these changes of the lead cause (none for other kinds of change)."""
    triggers = _triggers(events)
    if not triggers:
        return []
    config = outbound_config(lead.integration_id)
    if not _may_send(config, triggers):
        return []
    lead = lead_for_delivery(lead.pk)
    templates = list(config.templates)
    values = lead_macro_values(lead)
    planned: list[Delivery] = []
    for trigger in triggers:
        planned += _for_trigger(lead, trigger, templates, values)
    return planned


def _for_trigger(
    lead: Lead, trigger: Trigger, templates: list[PostbackTemplate], values: dict[str, object]
) -> list[Delivery]:
    event = CONVERSION if trigger.created else STATUS
    values = {**values, "status": trigger.to_status}
    planned: list[Delivery] = []
    postable = lead.verdict not in WITHHOLDING_VERDICTS
    template = _template_for(templates, event=event, goal_id=lead.goal_id)
    if template is not None and (postable or (trigger.created and uses_macro(template.url, REJECTION_MACRO))):
        filled = values if postable else {**values, "status": REJECTED_STATUS}
        delivery = _delivery(lead, trigger, Kind.PARTNER, render(template.url, filled), template=template)
        planned.append(_to(delivery, destination_key(TEMPLATE, template.pk), _template_paused_at(template)))
    partner = lead.partner
    if postable and partner.publisher_postback_url and (trigger.created or _approval_changed(trigger)):
        delivery = _delivery(
            lead, trigger, Kind.PUBLISHER, render(partner.publisher_postback_url, values), partner=partner
        )
        planned.append(
            _to(delivery, destination_key(PUBLISHER, partner.pk), partner.publisher_postback_paused_at)
        )
    integration = lead.integration
    if not trigger.created and integration.status_sync_url:
        delivery = _delivery(lead, trigger, Kind.STATUS_SYNC, render(integration.status_sync_url, values))
        planned.append(
            _to(delivery, destination_key(STATUS_SYNC, integration.pk), integration.status_sync_paused_at)
        )
    destination = getattr(lead.app, "clevertap", None)
    if postable and trigger.created and destination is not None and destination.is_active:
        planned += _clevertap(lead, trigger, destination, values)
    return planned


def _template_for(
    templates: list[PostbackTemplate], *, event: str, goal_id: int | None
) -> PostbackTemplate | None:
    """The goal's own template for the event, else the install template (no goal)."""
    matching = [t for t in templates if t.event == event]
    return next((t for t in matching if goal_id and t.goal_id == goal_id), None) or next(
        (t for t in matching if t.goal_id is None), None
    )


def _template_paused_at(template: PostbackTemplate) -> datetime | None:
    """When the template was paused, None while it runs.

    The template comes from the cached configuration, which may be older than a resume made a
    moment ago, so a pause it shows is read again (rare: only while paused). A pause newer than
    the cache is caught by the sending core, which parks what it claims for a paused destination.
    """
    if template.paused_at is None:
        return None
    return PostbackTemplate.objects.filter(pk=template.pk).values_list("paused_at", flat=True).first()


def _to(delivery: Delivery, key: str, paused_at: datetime | None) -> Delivery:
    """The delivery addressed to its destination; it waits as `paused` while the destination is."""
    delivery.destination_key = key
    if paused_at is not None and delivery.state == Delivery.State.PENDING:
        delivery.state, delivery.next_attempt_at = Delivery.State.PAUSED, None
    return delivery


def _delivery(lead: Lead, trigger: Trigger, kind: str, url: str, **fields: object) -> Delivery:
    return Delivery(
        organization_id=lead.organization_id,
        kind=kind,
        event=CONVERSION if trigger.created else STATUS,
        lead=lead,
        lead_event=trigger.event,
        integration_id=lead.integration_id,
        partner_id=lead.partner_id,
        app_id=lead.app_id,
        url=url,
        **fields,
    )


# --- CleverTap -------------------------------------------------------------------------------


def is_install(lead: Lead) -> bool:
    """An install: its goal's code is `install`, or it has no goal (or the default one) on a CPI offer."""
    if lead.goal is not None and lead.goal.code == INSTALL_GOAL:
        return True
    return lead.offer.type == Offer.Type.CPI and (lead.goal is None or lead.goal.is_default)


def clevertap_event(lead: Lead, destination: CleverTapDestination) -> tuple[str, str] | None:
    """(event type, custom event name) to report for a new lead, or None when nothing is to be sent.

    A lead with `organic=1` in its parameters is an organic install (sent when organic installs
    are on); an install (see `is_install`) is an inorganic install; any other goal is a custom
    event named after the goal's code, sent when custom events are on.
    """
    if lead.params.get("organic") == "1":
        if not destination.send_organic_installs:
            return None
        return clevertap.EventType.ORGANIC_INSTALL, ""
    if is_install(lead):
        return (clevertap.EventType.INORGANIC_INSTALL, "") if destination.send_inorganic_installs else None
    if destination.send_custom_events and lead.goal is not None:
        return clevertap.EventType.CUSTOM, lead.goal.code
    return None


def device_identifier(lead: Lead) -> str:
    """The CleverTap ID given with the lead (`ct_id` / `device_identifier`), else the click's device id."""
    for name in CLEVERTAP_ID_PARAMS:
        if lead.params.get(name):
            return str(lead.params[name])
    click = lead.click_seen
    if click is None:
        return ""
    return click.device_id or click.gaid or click.idfa or click.android_id


def clevertap_platform(lead: Lead) -> str:
    """The app's platform; for an app on both, the one the click's OS names."""
    platform = lead.app.platform
    if platform != Platform.CROSS:
        return platform
    click = lead.click_seen
    os_name = (click.os if click else "").lower()
    return Platform.IOS if os_name.startswith(("ios", "ipados")) else Platform.ANDROID


def _clevertap_extra(lead: Lead) -> dict[str, object]:
    return {
        name.removeprefix(CLEVERTAP_EXTRA_PREFIX): value
        for name, value in lead.params.items()
        if name.startswith(CLEVERTAP_EXTRA_PREFIX) and name not in CLEVERTAP_ID_PARAMS
    }


def clevertap_url(
    lead: Lead,
    destination: CleverTapDestination,
    event_type: str,
    custom_name: str,
    values: dict[str, object] | None = None,
) -> str:
    """The attribution URL for the lead, its passcode as `***` (filled in at send time).

    The utm values are the destination's templates filled with the lead's macro values (by
    default the partner's name, the channel and the offer's name).
    """
    values = lead_macro_values(lead) if values is None else values
    return clevertap.build_attribution_url(
        region=destination.region,
        partner_name=destination.partner_name,
        event_type=event_type,
        custom_event_name=custom_name,
        timestamp=lead.created_at,
        device_identifier=device_identifier(lead),
        utm_source=render_text(destination.utm_source_template, values),
        utm_medium=render_text(destination.utm_medium_template, values),
        utm_campaign=render_text(destination.utm_campaign_template, values),
        account_id=destination.account_id,
        account_token=destination.account_token,
        account_passcode=PASSCODE_PLACEHOLDER,
        platform=clevertap_platform(lead),
        extra=_clevertap_extra(lead),
    )


def _clevertap(
    lead: Lead, trigger: Trigger, destination: CleverTapDestination, values: dict[str, object]
) -> list[Delivery]:
    chosen = clevertap_event(lead, destination)
    if chosen is None:
        return []
    event_type, custom_name = chosen
    delivery = _delivery(lead, trigger, Kind.CLEVERTAP, "", destination=destination)
    delivery.event = custom_name or event_type
    try:
        delivery.url = clevertap_url(lead, destination, event_type, custom_name, values).replace(
            f"account_passcode={PASSCODE_PLACEHOLDER}", f"account_passcode={MASK_QUOTED}"
        )
    except clevertap.NotSendable as reason:
        delivery.state, delivery.last_error, delivery.next_attempt_at = (
            Delivery.State.SKIPPED,
            str(reason),
            None,
        )
    return [_to(delivery, destination_key(CLEVERTAP, destination.pk), destination.paused_at)]

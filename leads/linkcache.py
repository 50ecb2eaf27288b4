"""Every hot-path lookup of the leads side: its key, its loader and what forgets it.

The click redirect and the postbacks read the same configuration on every request: a token's
app or integration, a tracking link resolved into a plain dict (ids, landing URLs, parameter
aliases, IP privacy, the integration's screening configuration, the configuration macros), an
integration's screening configuration, an offer's goal table and an integration's outbound
configuration (templates, publisher and status-sync URLs, CleverTap). Each goes through
`config.hotcache` (this process, then Redis, then the database; Redis optional). The
receivers at the end drop an entry whenever a row it was built from is saved or deleted;
services that write with `QuerySet.update()` or `bulk_create()` (which send no signals) call
the `…_forget` functions themselves.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Model, Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from accounts.models import Organization
from config import hotcache
from currencies.selectors import Rate, cross_rate
from leads import datacenters
from leads.caprules import FOREVER, CapRule
from leads.models import CapUse
from partners.models import (
    App,
    Cap,
    Channel,
    DatacenterNetwork,
    Goal,
    GoalAlias,
    GoalPartnerPayout,
    Integration,
    Landing,
    Offer,
    Partner,
    PostbackTemplate,
    ScreeningRule,
    SmartLink,
    SmartLinkEntry,
    SourceListEntry,
    Status,
    TrackingLink,
    TrackingParameter,
)
from partners.targeting import compile_targeting
from partners.tracking import TRACKING_PARAM_NAMES
from postbacks.models import CleverTapDestination

Kind = ScreeningRule.Kind
LinkData = dict[str, Any]
Config = dict[str, Any]

# Saving an app or an integration drops its tokens' entries at once (and rotating a token).
TOKEN_CACHE_SECONDS = 60
# Saving a goal, an alias or a partner payout drops its offer's entry at once.
GOAL_CACHE_SECONDS = 600
CONFIG_CACHE_SECONDS = 600
LINK_CACHE_SECONDS = 600
# Unknown codes are cached briefly too: junk traffic must not reach the database each time.
MISSING_CACHE_SECONDS = 60
# Bump when the shape of a cached value changes, so a deploy never reads old entries.
LINK_DATA_VERSION = 5
SMART_LINK_DATA_VERSION = 1
CONFIG_VERSION = 2
LINK_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")

SUBS = ("sub1", "sub2", "sub3", "sub4", "sub5")
# 24metrics parameter names of the click and impression APIs → our tracking names.
API_TO_TRACKING = {
    "sub_id": "sub1",
    "click_ip": "ip",
    "impression_ip": "ip",
    "external_transaction_id": "partner_click_id",
}
CLICK_KINDS = frozenset(
    {Kind.CLICKS_PER_IP, Kind.CLICKS_PER_DEVICE, Kind.COUNTRY, Kind.BOT_USER_AGENT, Kind.DATACENTER}
)
CONVERSION_KINDS = frozenset(
    {
        Kind.CTIT,
        Kind.CONVERSIONS_PER_IP,
        Kind.CONVERSIONS_PER_DEVICE,
        Kind.COUNTRY,
        Kind.BOT_USER_AGENT,
        Kind.DUPLICATE_DEVICE,
        Kind.CLICK_TOO_OLD,
        Kind.DATACENTER,
    }
)


# -- tokens -----------------------------------------------------------------------------------


OwnerT = TypeVar("OwnerT", App, Integration)


def _token_key(kind: str, token: str) -> str:
    return f"leads:{kind}-token:v2:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def _token_owner(model: type[OwnerT], token: str, load: Callable[[], OwnerT | None]) -> OwnerT | None:
    """The owner (cached with everything its checks read: allow list, signing) that `token` opens now.

    A rotated token's predecessor finds the same owner until its overlap ends: the time is
    compared here on every call, so nothing has to expire it.
    """
    if not token:
        return None
    owner = hotcache.cached(_token_key(model._meta.model_name, token), load, seconds=TOKEN_CACHE_SECONDS)
    return owner if owner is not None and owner.accepts_token(token, timezone.now()) else None


def _token_matches(token: str) -> Q:
    return Q(token=token) | Q(previous_token=token)


def app_for_token(token: str) -> App | None:
    """The app whose advertiser token this is (asked on every postback)."""
    return _token_owner(App, token, lambda: App.objects.filter(_token_matches(token)).first())


def integration_for_token(token: str) -> Integration | None:
    """The integration whose partner token this is, with its app, organization and partner."""
    return _token_owner(
        Integration,
        token,
        lambda: (
            Integration.objects.select_related("app", "organization", "partner")
            .filter(_token_matches(token))
            .first()
        ),
    )


def tokens_forget(owner: App | Integration) -> None:
    """Drop the cached look-ups of the owner's token and previous token (saved, rotated, re-signed)."""
    kind = owner._meta.model_name
    hotcache.forget(_token_key(kind, token) for token in (owner.token, owner.previous_token) if token)


# -- screening configuration ------------------------------------------------------------------


def config_cache_key(integration_id: int) -> str:
    return f"scr:cfg:v{CONFIG_VERSION}:{integration_id}"


def _rule_data(rule: ScreeningRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "kind": rule.kind,
        "threshold": rule.threshold,
        "window": rule.window_seconds,
        "action": rule.action,
        "reason": rule.reason_code,
        "countries": frozenset(rule.country_codes),
    }


def build_config(integration: Integration) -> Config:
    """The integration's screening configuration as plain, cacheable data (two queries).

    A `datacenter` rule carries the organization's list of data-centre networks (a third
    query, only when such a rule is active), so a click is checked without reading it.
    """
    rules = [_rule_data(rule) for rule in integration.screening_rules.filter(is_active=True).order_by("id")]
    if any(rule["kind"] == Kind.DATACENTER for rule in rules):
        networks = datacenters.effective(integration.organization_id)
        for rule in rules:
            if rule["kind"] == Kind.DATACENTER:
                rule["networks"] = networks
    lists: dict[str, set[str]] = {SourceListEntry.List.BLACK: set(), SourceListEntry.List.WHITE: set()}
    for kind, source in integration.source_entries.values_list("list", "source"):
        lists[kind].add(source)
    return {
        "ip_privacy": integration.ip_privacy,
        "click_rules": [rule for rule in rules if rule["kind"] in CLICK_KINDS],
        "conversion_rules": [rule for rule in rules if rule["kind"] in CONVERSION_KINDS],
        "black": frozenset(lists[SourceListEntry.List.BLACK]),
        "white": frozenset(lists[SourceListEntry.List.WHITE]),
    }


def screening_config(integration_id: int) -> Config:
    """The screening configuration of one integration (read on every conversion)."""
    return hotcache.cached(
        config_cache_key(integration_id),
        lambda: build_config(Integration.objects.get(pk=integration_id)),
        seconds=CONFIG_CACHE_SECONDS,
    )


def screening_forget(integration_id: int) -> None:
    """Drop the integration's screening configuration and its links' data (which embed it)."""
    hotcache.forget([config_cache_key(integration_id)])
    codes = TrackingLink.objects.filter(integration_id=integration_id).values_list("code", flat=True)
    link_cache_forget(codes)


def datacenters_forget(organization_id: int) -> None:
    """An organization's list of data-centre networks changed: every configuration embedding it goes."""
    integration_ids = list(
        Integration.objects.filter(organization_id=organization_id).values_list("pk", flat=True)
    )
    hotcache.forget(config_cache_key(pk) for pk in integration_ids)
    codes = TrackingLink.objects.filter(integration_id__in=integration_ids).values_list("code", flat=True)
    link_cache_forget(codes)


# -- tracking links ---------------------------------------------------------------------------


def link_cache_key(code: str) -> str:
    return f"trk:link:v{LINK_DATA_VERSION}:{code}"


def _is_live(link: TrackingLink) -> bool:
    return all(
        status == Status.ACTIVE
        for status in (link.status, link.integration.status, link.offer.status, link.partner.status)
    )


def _placeholder_name(placeholder: str) -> str | None:
    """The parameter name hidden in a partner macro: `{clickid}`, `[CLICK_ID]`, `${sub}` → the word."""
    word = placeholder.strip().strip("{}[]$%")
    return word if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,99}", word) else None


def _aliases(parameters: Iterable[TrackingParameter], mapping: Mapping[str, Any]) -> dict[str, str]:
    """Partner parameter names → ours, from the tracking-parameter table and the inbound mapping."""
    aliases: dict[str, str] = {}
    for row in parameters:
        word = _placeholder_name(row.placeholder)
        if word and word not in TRACKING_PARAM_NAMES:
            aliases[word] = row.name
    for ours, theirs in mapping.items():
        target = API_TO_TRACKING.get(ours, ours)
        if target in TRACKING_PARAM_NAMES and isinstance(theirs, str) and theirs not in TRACKING_PARAM_NAMES:
            aliases[theirs] = target
    return aliases


def _config_macros(link: TrackingLink) -> dict[str, str]:
    integration, offer = link.integration, link.offer
    return {
        "app_id": str(integration.app_id),
        "app_name": integration.app.name,
        "platform": integration.app.platform,
        "partner_name": link.partner.name,
        "channel": integration.channel.name if integration.channel else "",
        "campaign_id": str(offer.pk),
        "campaign_name": offer.name,
    }


def _fallback_data(offer: Offer) -> dict[str, Any] | None:
    """Where the offer's clicks go when they are outside its targeting (or it is capped).

    A fallback offer: its id, its landings and first landing, and the macros naming it (the
    click counts for it). A URL: the template. None: the plain "not available" page. A paused
    fallback offer is no fallback (its clicks would have nowhere to go).
    """
    if offer.fallback_offer_id is not None:
        fallback = Offer.objects.filter(pk=offer.fallback_offer_id, status=Status.ACTIVE).first()
        if fallback is None:
            return None
        landings = {str(landing.pk): landing.url for landing in fallback.landings.all()}
        return {
            "offer_id": fallback.pk,
            "landing_id": next((int(pk) for pk in landings), None),
            "landings": landings,
            "url": "",
            "macros": {"campaign_id": str(fallback.pk), "campaign_name": fallback.name},
        }
    if offer.fallback_url:
        return {"offer_id": None, "landing_id": None, "landings": {}, "url": offer.fallback_url, "macros": {}}
    return None


def _build_link_data(link: TrackingLink) -> LinkData:
    offer_landings = list(link.offer.landings.all())
    if link.landing is not None and all(landing.pk != link.landing.pk for landing in offer_landings):
        offer_landings.append(link.landing)
    landings = {str(landing.pk): landing.url for landing in offer_landings}
    parameters = list(link.integration.parameters.all())
    return {
        "link_id": link.pk,
        "code": link.code,
        "organization_id": link.organization_id,
        "integration_id": link.integration_id,
        "partner_id": link.partner_id,
        "offer_id": link.offer_id,
        "app_id": link.integration.app_id,
        # The link's landing, else the offer's first one; None sends clicks to the app's URL.
        "landing_id": link.landing_id or next((int(pk) for pk in landings), None),
        "landings": landings,
        "default_url": link.integration.app.default_url,
        "subs": {name: getattr(link, name) for name in SUBS},
        "aliases": _aliases(parameters, link.integration.inbound_mapping or {}),
        "unfilled": sorted({row.placeholder for row in parameters if row.placeholder}),
        "ip_privacy": link.integration.ip_privacy,
        "screening": build_config(link.integration),
        "macros": _config_macros(link),
        # Targeting as frozensets (None: open to all), checked by leads.routing on every click.
        "targeting": compile_targeting(link.offer),
        "landing_targeting": {
            str(landing.pk): targeting
            for landing in offer_landings
            if (targeting := compile_targeting(landing)) is not None
        },
        "fallback": _fallback_data(link.offer),
        # Epoch seconds until which the offer is full for this partner; None while it is not.
        "capped_until": capped_until(link.offer_id, link.partner_id),
    }


def _load_link_data(code: str) -> LinkData:
    """The live link's data, or `{}` (cached briefly) for an unknown or paused code."""
    link = (
        TrackingLink.objects.select_related(
            "integration__app", "integration__channel", "offer", "partner", "landing"
        )
        .filter(code=code)
        .first()
    )
    return _build_link_data(link) if link is not None and _is_live(link) else {}


def link_data(code: str) -> LinkData | None:
    """The live link's resolved configuration, or None for an unknown or paused link."""
    if not LINK_CODE_RE.match(code):
        return None
    data = hotcache.cached(
        link_cache_key(code),
        lambda: _load_link_data(code),
        seconds=LINK_CACHE_SECONDS,
        empty_seconds=MISSING_CACHE_SECONDS,
    )
    return data or None


def link_cache_forget(codes: Iterable[str]) -> None:
    """Drop the cached data of these link codes."""
    hotcache.forget(link_cache_key(code) for code in set(codes))


# -- smart links ------------------------------------------------------------------------------


def smart_link_cache_key(code: str) -> str:
    return f"trk:smart:v{SMART_LINK_DATA_VERSION}:{code}"


def _load_smart_link_data(code: str) -> dict[str, Any]:
    """The live smart link's choice table, or `{}` for an unknown or paused code.

    Entries name their links by code: each link's own data (targeting, cap, liveness) comes
    from `link_data`, cached and forgotten on its own.
    """
    smart_link = (
        SmartLink.objects.select_related("partner")
        .filter(code=code, status=Status.ACTIVE, partner__status=Status.ACTIVE)
        .first()
    )
    if smart_link is None:
        return {}
    entries = SmartLinkEntry.objects.filter(smart_link=smart_link).order_by("priority", "id")
    return {
        "id": smart_link.pk,
        "code": smart_link.code,
        "mode": smart_link.mode,
        "catch_all_url": smart_link.catch_all_url,
        "entries": [
            {"code": code, "weight": weight} for code, weight in entries.values_list("link__code", "weight")
        ],
    }


def smart_link_data(code: str) -> dict[str, Any] | None:
    """The live smart link's mode, catch-all and entries (in priority order), or None."""
    if not LINK_CODE_RE.match(code):
        return None
    data = hotcache.cached(
        smart_link_cache_key(code),
        lambda: _load_smart_link_data(code),
        seconds=LINK_CACHE_SECONDS,
        empty_seconds=MISSING_CACHE_SECONDS,
    )
    return data or None


def smart_link_forget(codes: Iterable[str]) -> None:
    """Drop the cached data of these smart-link codes."""
    hotcache.forget(smart_link_cache_key(code) for code in set(codes))


# -- goal tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalTable:
    """An offer and its goals as postbacks look them up: by code or alias (any case), with partner payouts."""

    offer: Offer
    goals: dict[int, Goal]
    codes: dict[str, int]
    default_id: int | None
    overrides: dict[tuple[int, int], tuple[str, Decimal]]

    def goal(self, goal_id: int | None, partner_id: int) -> Goal | None:
        """The goal annotated with the partner's own payout, like a database read would be."""
        if goal_id is None:
            return None
        # A copy: the table is shared by every request of this process.
        goal = copy.copy(self.goals[goal_id])
        goal.partner_payout_type, goal.partner_payout = self.overrides.get(
            (goal_id, partner_id), (None, None)
        )
        return goal


def _goal_table_key(offer_id: int) -> str:
    return f"leads:goals:v1:{offer_id}"


def _load_goal_table(offer_id: int) -> GoalTable:
    offer = Offer.objects.get(pk=offer_id)
    goals = {goal.pk: goal for goal in Goal.objects.filter(offer_id=offer_id).order_by("position", "id")}
    codes = {goal.code.lower(): pk for pk, goal in goals.items()}
    for goal_id, code in GoalAlias.objects.filter(offer_id=offer_id).values_list("goal_id", "code"):
        codes.setdefault(code.lower(), goal_id)
    overrides = {
        (goal_id, partner_id): (payout_type, payout)
        for goal_id, partner_id, payout_type, payout in GoalPartnerPayout.objects.filter(
            goal__offer_id=offer_id
        ).values_list("goal_id", "partner_id", "payout_type", "payout")
    }
    default_id = next((pk for pk, goal in goals.items() if goal.is_default), None)
    return GoalTable(offer, goals, codes, default_id, overrides)


def goal_table(offer_id: int) -> GoalTable:
    """The offer's goal table: every lead postback looks its goal up here."""
    return hotcache.cached(
        _goal_table_key(offer_id), lambda: _load_goal_table(offer_id), seconds=GOAL_CACHE_SECONDS
    )


def goal_table_forget(offer_id: int) -> None:
    """Drop an offer's cached goal table."""
    hotcache.forget([_goal_table_key(offer_id)])


# -- caps ---------------------------------------------------------------------------------------

CAPS_CACHE_SECONDS = 600


def _caps_key(offer_id: int) -> str:
    return f"leads:caps:v1:{offer_id}"


def _load_offer_caps(offer_id: int) -> tuple[CapRule, ...]:
    caps = Cap.objects.filter(offer_id=offer_id, is_active=True).select_related("organization").order_by("id")
    return tuple(CapRule.of(cap, cap.organization.time_zone) for cap in caps)


def offer_caps(offer_id: int) -> tuple[CapRule, ...]:
    """The offer's active caps in id order (the order conversions claim them in); read per conversion."""
    return hotcache.cached(
        _caps_key(offer_id), lambda: _load_offer_caps(offer_id), seconds=CAPS_CACHE_SECONDS
    )


def capped_until(offer_id: int, partner_id: int, *, now: datetime | None = None) -> float | None:
    """Until when (epoch seconds) the offer is full for this partner's clicks; None when it is not.

    Offer caps and this partner's caps without a goal count: when one of them is full, clicks
    wait for the end of its period (the latest end, when several are full). One query, and
    none when the offer has no such cap.
    """
    rules = [
        rule for rule in offer_caps(offer_id) if rule.guards_clicks and rule.partner_id in (None, partner_id)
    ]
    if not rules:
        return None
    now = now or timezone.now()
    starts = {rule.id: rule.period_start(now) for rule in rules}
    wanted = Q()
    for cap_id, start in starts.items():
        wanted |= Q(cap_id=cap_id, period_start=start)
    uses = {row[0]: row[1:] for row in CapUse.objects.filter(wanted).values_list("cap_id", "used", "refused")}
    ends = [
        rule.resets_at(now) or FOREVER for rule in rules if rule.id in uses and rule.is_full(*uses[rule.id])
    ]
    return max(ends).timestamp() if ends else None


def offer_caps_forget(offer_ids: Iterable[int]) -> None:
    """Drop the offers' cached caps and their links' data (which says whether they are capped)."""
    offer_ids = set(offer_ids)
    if offer_ids:
        hotcache.forget(_caps_key(pk) for pk in offer_ids)
        offer_links_forget(offer_ids)


def offer_links_forget(offer_ids: Iterable[int]) -> None:
    """Drop the data of the offers' links: a cap filled, so clicks must see `capped_until`."""
    link_cache_forget(TrackingLink.objects.filter(offer_id__in=set(offer_ids)).values_list("code", flat=True))


# -- currencies: an organization's base currency and the day's exchange rates ------------------

# Saving the organization drops its entry at once. A rate for a day is cached ten minutes: the
# day's ECB publication, once loaded, reaches conversions of that day within that time.
CURRENCY_CACHE_SECONDS = 600
RATE_CACHE_SECONDS = 600


def _base_currency_key(organization_id: int) -> str:
    return f"leads:base-currency:v1:{organization_id}"


def base_currency(organization_id: int) -> str:
    """The organization's base currency: every lead's base amounts are in it."""
    return hotcache.cached(
        _base_currency_key(organization_id),
        lambda: Organization.objects.filter(pk=organization_id).values_list("currency", flat=True).first(),
        seconds=CURRENCY_CACHE_SECONDS,
    )


def fx_rate(source: str, target: str, day: date) -> Rate | None:
    """One `source` in `target` on `day` (ECB cross rates; a day without a publication: the last before)."""
    if source == target:
        return Rate(Decimal("1"), day)

    def load() -> tuple[str, str] | tuple[()]:
        found = cross_rate(source, target, day)
        return (str(found.rate), found.day.isoformat()) if found is not None else ()

    value = hotcache.cached(
        f"leads:fx:v1:{source}:{target}:{day.isoformat()}",
        load,
        seconds=RATE_CACHE_SECONDS,
        empty_seconds=MISSING_CACHE_SECONDS,
    )
    return Rate(Decimal(value[0]), date.fromisoformat(value[1])) if value else None


def _forget_base_currency(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        hotcache.forget([_base_currency_key(instance.pk)])


# -- an integration's outbound configuration (read on every lead change) ------------------------

# Saving a template, an integration, a partner or a destination drops its entry at once, and so
# does pausing or resuming one (postbacks.pausing sends their post_save).
OUTBOUND_CACHE_SECONDS = 600


@dataclass(frozen=True)
class OutboundConfig:
    """What an integration's leads may send out, cached: most lead changes then read nothing more."""

    templates: tuple[PostbackTemplate, ...]
    publisher_url: str
    status_sync_url: str
    clevertap: bool


def _outbound_key(integration_id: int) -> str:
    return f"outbound:v2:{integration_id}"


def outbound_config(integration_id: int) -> OutboundConfig:
    """The integration's templates and outbound URLs, from the cache when it has them."""
    return hotcache.cached(
        _outbound_key(integration_id),
        lambda: _load_outbound_config(integration_id),
        seconds=OUTBOUND_CACHE_SECONDS,
    )


def _load_outbound_config(integration_id: int) -> OutboundConfig:
    integration = Integration.objects.select_related("partner", "app__clevertap").get(pk=integration_id)
    destination = getattr(integration.app, "clevertap", None)
    return OutboundConfig(
        templates=tuple(
            PostbackTemplate.objects.filter(integration_id=integration_id, is_active=True).only(
                "id", "goal_id", "event", "url", "paused_at"
            )
        ),
        publisher_url=integration.partner.publisher_postback_url,
        status_sync_url=integration.status_sync_url,
        clevertap=destination is not None and destination.is_active,
    )


def outbound_config_forget(integration_ids: Iterable[int]) -> None:
    """Drop cached configurations now and again at commit (a concurrent read may re-cache the old)."""
    hotcache.forget(_outbound_key(pk) for pk in set(integration_ids))


# -- invalidation -----------------------------------------------------------------------------

# Each model a link's data is built from → the lookup from TrackingLink to it; _KEY_OF names
# the instance's attribute that lookup compares with when it is not the primary key.
_LINKS_OF: dict[type[Model], str] = {
    Landing: "offer_id",
    Offer: "offer_id",
    Integration: "integration_id",
    TrackingParameter: "integration_id",
    Partner: "partner_id",
    App: "integration__app_id",
    Channel: "integration__channel_id",
    ScreeningRule: "integration_id",
    SourceListEntry: "integration_id",
}
_KEY_OF: dict[type[Model], str] = {
    Landing: "offer_id",
    TrackingParameter: "integration_id",
    ScreeningRule: "integration_id",
    SourceListEntry: "integration_id",
}


def _codes_affected_by(instance: Model) -> list[str]:
    if isinstance(instance, TrackingLink):
        return [instance.code]
    lookup = _LINKS_OF[type(instance)]
    value = getattr(instance, _KEY_OF.get(type(instance), "pk"))
    links = TrackingLink.objects.filter(**{lookup: value})
    if isinstance(instance, (Offer, Landing)):
        # Links of offers falling back to this one carry its landings and status in their data.
        links = links | TrackingLink.objects.filter(offer__fallback_offer_id=value)
    return list(links.values_list("code", flat=True))


def _forget_old_code(sender: type[Model], instance: TrackingLink, **kwargs: Any) -> None:
    """A renamed code must stop resolving at once, not when its cache entry expires."""
    if instance.pk and not kwargs.get("raw"):
        old = TrackingLink.objects.filter(pk=instance.pk).values_list("code", flat=True).first()
        if old and old != instance.code:
            link_cache_forget([old])


def _forget_links(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        link_cache_forget(_codes_affected_by(instance))


def _forget_config(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        integration_id = instance.pk if isinstance(instance, Integration) else instance.integration_id  # type: ignore[attr-defined]
        hotcache.forget([config_cache_key(integration_id)])


def _forget_goals(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    if isinstance(instance, GoalPartnerPayout):
        offer_id = Goal.objects.filter(pk=instance.goal_id).values_list("offer_id", flat=True).first()
    elif isinstance(instance, Offer):
        offer_id = instance.pk
    else:
        offer_id = instance.offer_id  # type: ignore[attr-defined]
    if offer_id is not None:
        goal_table_forget(offer_id)


def _forget_fallback_links(sender: type[Model], instance: Offer, **kwargs: Any) -> None:
    """Before an offer goes, forget the links falling back to it (after, SET_NULL hides them)."""
    link_cache_forget(
        TrackingLink.objects.filter(offer__fallback_offer_id=instance.pk).values_list("code", flat=True)
    )


def _forget_old_smart_code(sender: type[Model], instance: SmartLink, **kwargs: Any) -> None:
    """A renamed smart-link code stops resolving at once."""
    if instance.pk and not kwargs.get("raw"):
        old = SmartLink.objects.filter(pk=instance.pk).values_list("code", flat=True).first()
        if old and old != instance.code:
            smart_link_forget([old])


def _forget_smart_links(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """A smart link's table follows its own row, its entries, its partner and its entries' links."""
    if kwargs.get("raw"):
        return
    if isinstance(instance, SmartLink):
        smart_link_forget([instance.code])
        return
    rows = SmartLink.objects.all()
    if isinstance(instance, SmartLinkEntry):
        rows = rows.filter(pk=instance.smart_link_id)
    elif isinstance(instance, Partner):
        rows = rows.filter(partner_id=instance.pk)
    else:
        rows = rows.filter(entries__link_id=instance.pk)
    smart_link_forget(rows.values_list("code", flat=True))


def _integrations_of(instance: Model) -> list[int]:
    if isinstance(instance, Integration):
        return [instance.pk]
    if isinstance(instance, PostbackTemplate):
        return [instance.integration_id]
    if isinstance(instance, Partner):
        return list(instance.integrations.values_list("pk", flat=True))
    return list(Integration.objects.filter(app_id=instance.app_id).values_list("pk", flat=True))  # type: ignore[attr-defined]


def _forget_tokens(sender: type[Model], instance: App | Integration, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        tokens_forget(instance)


def _forget_old_tokens(sender: type[App | Integration], instance: App | Integration, **kwargs: Any) -> None:
    """A token rotated twice stops resolving at once: forget what the row held before this save."""
    if instance.pk and not kwargs.get("raw"):
        old = sender.objects.filter(pk=instance.pk).only("token", "previous_token").first()
        if old is not None:
            tokens_forget(old)


def _forget_outbound(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        outbound_config_forget(_integrations_of(instance))


def _forget_datacenters(sender: type[Model], instance: DatacenterNetwork, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        datacenters_forget(instance.organization_id)


def _forget_caps(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    if isinstance(instance, Organization):  # its time zone moves every period of its caps
        offer_caps_forget(Offer.objects.filter(organization_id=instance.pk).values_list("pk", flat=True))
    else:
        offer_caps_forget([instance.offer_id])  # type: ignore[attr-defined]


def _connect(receiver: Any, models: Iterable[type[Model]], name: str) -> None:
    for model in models:
        uid = f"leads.linkcache.{name}.{model.__name__}"
        post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}.delete")


pre_save.connect(_forget_old_code, sender=TrackingLink, dispatch_uid="leads.linkcache.link_code_change")
_connect(_forget_links, (TrackingLink, *_LINKS_OF), "links")
_connect(_forget_config, (Integration, ScreeningRule, SourceListEntry), "config")
_connect(_forget_datacenters, (DatacenterNetwork,), "datacenters")
_connect(_forget_goals, (Offer, Goal, GoalAlias, GoalPartnerPayout), "goals")
pre_delete.connect(_forget_fallback_links, sender=Offer, dispatch_uid="leads.linkcache.fallback_offer_delete")
pre_save.connect(_forget_old_smart_code, sender=SmartLink, dispatch_uid="leads.linkcache.smart_code_change")
_connect(_forget_smart_links, (SmartLink, SmartLinkEntry, TrackingLink, Partner), "smart_links")
_connect(_forget_caps, (Cap, Organization), "caps")
_connect(_forget_outbound, (Integration, PostbackTemplate, Partner, CleverTapDestination), "outbound")
_connect(_forget_base_currency, (Organization,), "base_currency")
_connect(_forget_tokens, (App, Integration), "tokens")
pre_save.connect(_forget_old_tokens, sender=App, dispatch_uid="leads.linkcache.old_tokens.App")
pre_save.connect(_forget_old_tokens, sender=Integration, dispatch_uid="leads.linkcache.old_tokens.Intg")

"""Writes of the configuration side. The wizard, the admin and the API all call these."""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from datetime import timedelta
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization
from audit.tracking import record_created, record_update
from partners.models import (
    App,
    Channel,
    Goal,
    GoalAlias,
    Integration,
    Offer,
    Partner,
    PostbackTemplate,
    SmartLink,
    SmartLinkEntry,
    Status,
    TrackingLink,
    TrackingParameter,
    new_inbound_secret,
    new_token,
)
from partners.tracking import REQUIRED_TRACKING_PARAMS, TRACKING_PARAM_NAMES
from partners.urlsafety import validate_outbound_url


class ParameterRow(TypedDict):
    name: str
    placeholder: str
    in_click: bool
    in_impression: bool


def validate_parameters(parameters: Sequence[ParameterRow]) -> list[str]:
    """Errors of a tracking-parameter table: unknown, repeated or missing required names."""
    errors: list[str] = []
    seen: set[str] = set()
    for row in parameters:
        name = row["name"]
        if name not in TRACKING_PARAM_NAMES:
            errors.append(_("“%(name)s” is not a tracking parameter we understand.") % {"name": name})
        elif name in seen:
            errors.append(_("“%(name)s” appears twice; keep one row per parameter.") % {"name": name})
        seen.add(name)
        if not (row.get("in_click") or row.get("in_impression")):
            errors.append(
                _("“%(name)s” is in no URL: tick click URL, impression URL or both.") % {"name": name}
            )
    missing = [p.name for p in REQUIRED_TRACKING_PARAMS if p.name not in seen]
    if missing:
        errors.append(_("Required parameters cannot be removed: %(names)s.") % {"names": ", ".join(missing)})
    return errors


def validate_connection(
    *,
    organization: Organization,
    app: App,
    partner: Partner | None,
    partner_name: str,
    postback_url: str,
    parameters: Sequence[ParameterRow],
) -> None:
    """Raise a ValidationError keyed by field for anything that would stop a connection."""
    errors: dict[str, list[str]] = {}
    if app.organization_id != organization.pk:
        errors["app"] = [_("No such app in your organization.")]
    if partner is not None:
        if partner.organization_id != organization.pk:
            errors["partner"] = [_("No such partner in your organization.")]
        elif Integration.objects.filter(app=app, partner=partner).exists():
            errors["partner"] = [
                _("%(partner)s is already connected to %(app)s.") % {"partner": partner.name, "app": app.name}
            ]
    elif not partner_name.strip():
        errors["partner_name"] = [_("Enter the partner's name.")]
    elif Partner.objects.filter(organization=organization, name__iexact=partner_name.strip()).exists():
        errors["partner_name"] = [
            _("A partner named “%(name)s” exists already: pick it from the partner list.")
            % {"name": partner_name.strip()}
        ]
    if postback_url.strip():
        url_errors = validate_outbound_url(postback_url)
        if url_errors:
            errors["postback_url"] = url_errors
    parameter_errors = validate_parameters(parameters)
    if parameter_errors:
        errors["parameters"] = parameter_errors
    if errors:
        raise ValidationError(errors)


def channel_get_or_create(*, organization: Organization, name: str) -> Channel:
    channel, _created = Channel.objects.get_or_create(organization=organization, name=name.strip())
    return channel


@transaction.atomic
def goal_save(*, goal: Goal, aliases: list[str] | None) -> Goal:
    """Save the goal and, when `aliases` is given, make them exactly its aliases.

    Code and alias uniqueness per offer is the database's: a clash raises IntegrityError.
    """
    goal.save()
    if aliases is not None:
        goal.aliases.exclude(code__in=aliases).delete()
        kept = set(goal.aliases.values_list("code", flat=True))
        record_created(
            GoalAlias.objects.bulk_create(
                GoalAlias(goal=goal, offer_id=goal.offer_id, code=code)
                for code in aliases
                if code not in kept
            )
        )
    return goal


@transaction.atomic
def smart_link_save(*, smart_link: SmartLink, entries: Sequence[dict[str, Any]] | None) -> SmartLink:
    """Save the smart link and, when `entries` is given, make them exactly its entries.

    Entries are saved one by one (a smart link has a handful), so the cache receivers of
    `leads.linkcache` forget its table as they would for an admin edit.
    """
    smart_link.save()
    if entries is not None:
        smart_link.entries.exclude(link__in=[entry["link"] for entry in entries]).delete()
        current = {entry.link_id: entry for entry in smart_link.entries.all()}
        for fields in entries:
            entry = current.get(fields["link"].pk) or SmartLinkEntry(
                smart_link=smart_link, link=fields["link"]
            )
            entry.priority = fields.get("priority", entry.priority)
            entry.weight = fields.get("weight", entry.weight)
            entry.save()
    return smart_link


def tracking_link_create(
    *, integration: Integration, offer: Offer, attempts: int = 5, **fields: Any
) -> TrackingLink:
    """A new link with a fresh symbolic code (retried on the rare code collision)."""
    for _attempt in range(attempts):
        try:
            with transaction.atomic():
                return TrackingLink.objects.create(
                    organization=integration.organization,
                    integration=integration,
                    partner=integration.partner,
                    offer=offer,
                    landing=fields.pop("landing", None) or offer.landings.first(),
                    **fields,
                )
        except IntegrityError:
            continue
    raise RuntimeError("Could not find a free tracking-link code.")


@transaction.atomic
def integration_connect(
    *,
    organization: Organization,
    app: App,
    partner: Partner | None = None,
    partner_name: str = "",
    channel: Channel | None = None,
    new_channel_name: str = "",
    postback_url: str = "",
    parameters: Sequence[ParameterRow],
    actor: Any = None,
) -> Integration:
    """Connect a partner (an existing one, or a new custom one) to an app, atomically.

    Creates what the wizard collected: the partner and channel when new, the
    integration, its install postback, its tracking-URL parameters, and one tracking
    link per active offer of the app.
    """
    validate_connection(
        organization=organization,
        app=app,
        partner=partner,
        partner_name=partner_name,
        postback_url=postback_url,
        parameters=parameters,
    )
    if new_channel_name.strip():
        channel = channel_get_or_create(organization=organization, name=new_channel_name)
    if partner is None:
        partner = Partner.objects.create(
            organization=organization,
            name=partner_name.strip(),
            kind=Partner.Kind.CUSTOM,
            default_channel=channel,
        )
    integration = Integration.objects.create(
        organization=organization,
        app=app,
        partner=partner,
        channel=channel or partner.default_channel,
        created_by=actor,
    )
    if postback_url.strip():
        PostbackTemplate.objects.create(integration=integration, url=postback_url.strip())
    parameter_rows = TrackingParameter.objects.bulk_create(
        TrackingParameter(
            integration=integration,
            name=row["name"],
            placeholder=row["placeholder"].strip(),
            in_click=bool(row.get("in_click")),
            in_impression=bool(row.get("in_impression")),
            position=position,
        )
        for position, row in enumerate(parameters)
    )
    record_created(parameter_rows)
    for offer in app.offers.filter(status=Status.ACTIVE).prefetch_related("landings"):
        tracking_link_create(integration=integration, offer=offer)
    return integration


# --- Signing secrets of outbound destinations ------------------------------------------------
#
# A destination with a secret has its calls signed the Standard Webhooks way; the secret is kept
# encrypted (the models' `signing_secret`, `status_sync_secret`, `publisher_postback_secret`).

SignedDestination = PostbackTemplate | Integration | Partner
_SECRET_FIELDS: dict[type, str] = {
    PostbackTemplate: "signing_secret",
    Integration: "status_sync_secret",
    Partner: "publisher_postback_secret",
}


def signing_secret_of(owner: SignedDestination) -> str:
    """The plain secret of a partner template, a status sync or a publisher postback ("" = unsigned)."""
    return getattr(owner, _SECRET_FIELDS[type(owner)])


@transaction.atomic
def signing_secret_set(*, owner: SignedDestination, secret: str) -> SignedDestination:
    """Sign the destination's calls with `secret` from now on ("" turns signing off).

    A new secret replaces the old one at once (rotation): the receiver must switch to it, since
    calls made from now on no longer verify with the old one.
    """
    field = _SECRET_FIELDS[type(owner)]
    encrypted = f"{field}_encrypted"
    before = copy(owner)
    setattr(owner, field, secret)
    type(owner).objects.filter(pk=owner.pk).update(**{encrypted: getattr(owner, encrypted)})
    record_update(before, **{encrypted: getattr(owner, encrypted)})
    return owner


# --- Inbound tokens and signing secrets (SPEC 4 "Signed postbacks", 7b) -----------------------
#
# Saving goes through the models' save(), so leads.linkcache forgets the cached token look-ups.

InboundOwner = App | Integration
TOKEN_OVERLAPS = {
    "1h": (gettext_lazy("1 hour"), timedelta(hours=1)),
    "24h": (gettext_lazy("24 hours"), timedelta(hours=24)),
    "7d": (gettext_lazy("7 days"), timedelta(days=7)),
    "30d": (gettext_lazy("30 days"), timedelta(days=30)),
}
DEFAULT_TOKEN_OVERLAP = "7d"


@transaction.atomic
def token_rotate(*, owner: InboundOwner, overlap: timedelta) -> InboundOwner:
    """Give the owner a new token; the current one stays valid for `overlap`, then only the new one works.

    A token rotated before and still in its overlap stops working now (one previous token at a time).
    """
    locked = type(owner).objects.select_for_update().get(pk=owner.pk)
    locked.previous_token, locked.token = locked.token, new_token()
    locked.previous_token_valid_until = timezone.now() + overlap
    locked.save(update_fields=["token", "previous_token", "previous_token_valid_until"])
    return locked


@transaction.atomic
def inbound_secret_generate(*, owner: InboundOwner) -> InboundOwner:
    """A new signing secret for the owner's inbound requests (the old one stops verifying at once)."""
    owner.inbound_secret = new_inbound_secret()
    owner.save(update_fields=["inbound_secret_encrypted"])
    return owner


def inbound_secret_ensure(*, owner: InboundOwner) -> InboundOwner:
    """Signing required needs a secret: generate one when the owner has none yet."""
    if owner.signing_required and not owner.inbound_secret_encrypted:
        return inbound_secret_generate(owner=owner)
    return owner

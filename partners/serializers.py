"""Management API representations of apps, channels, partners, integrations, offers, goals and links.

Every foreign key a client sends is looked up among the requesting user's organization's
rows only, so another organization's id is refused exactly like an id that does not exist.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organization
from accounts.permissions import can_edit, organization_of
from config.masking import mask_secret, mask_url
from leads.caps import CapUseNow, cap_uses
from partners import selectors
from partners.macros import errors_of
from partners.models import (
    App,
    Cap,
    Channel,
    Creative,
    Goal,
    Integration,
    Landing,
    Offer,
    Partner,
    PostbackTemplate,
    ScreeningRule,
    SmartLink,
    SmartLinkEntry,
    SourceListEntry,
    TrackingLink,
    TrackingParameter,
    allow_list_lines,
)
from partners.services import DEFAULT_TOKEN_OVERLAP, TOKEN_OVERLAPS, goal_save, smart_link_save
from partners.tracking import (
    DEFAULT_PARAMETER_ROWS,
    TRACKING_PARAM_NAMES,
    click_url,
    impression_url,
    smart_link_url,
)
from partners.urlsafety import validate_outbound

TARGETING_FIELDS = ["allowed_countries", "blocked_countries", "device_types", "operating_systems"]


def request_organization(context: dict[str, Any]) -> Organization | None:
    """The organization of the user making the request the serializer serves."""
    request = context.get("request")
    return organization_of(getattr(request, "user", None))


@extend_schema_field(OpenApiTypes.INT)
class OrganizationRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key chosen among the requesting user's organization's rows (a selector's)."""

    def __init__(self, *, selector: Callable[[Organization | None], QuerySet], **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        # Validating an id needs the row alone, not what the API prefetches to show it.
        return self.selector(request_organization(self.context)).prefetch_related(None)


def _refuse_taken_name(rows: QuerySet, name: str, instance: Any, noun: str) -> str:
    """`name`, unless another row among `rows` has it (in any letter case)."""
    taken = rows.filter(name__iexact=name)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise serializers.ValidationError(f"A {noun} named “{name}” exists already.")
    return name


def _tracking_pairs(parameters: Iterable[TrackingParameter], *, impression: bool) -> list[tuple[str, str]]:
    return [(p.name, p.placeholder) for p in parameters if (p.in_impression if impression else p.in_click)]


def link_click_url(link: TrackingLink) -> str:
    """The link's click URL with its integration's click parameters."""
    return click_url(link.code, _tracking_pairs(link.integration.parameters.all(), impression=False))


def link_impression_url(link: TrackingLink) -> str:
    """The link's impression URL with its integration's impression parameters."""
    return impression_url(link.code, _tracking_pairs(link.integration.parameters.all(), impression=True))


class MaskedURLsForViewers:
    """Outbound URLs answered masked (`sig=***`) to people who may only read (analysts): a URL
    template may carry a partner's key or signature. `masked_url_fields` names them."""

    masked_url_fields: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        if request is not None and not can_edit(request.user):
            for name in self.masked_url_fields:
                if data.get(name):
                    data[name] = mask_url(data[name])
        return data


INBOUND_FIELDS = ["token", "previous_token_valid_until", "signing_required", "signing_secret", "allowed_ips"]


class MaskedSecretsForViewers:
    """Secret values (tokens, signing secrets) answered masked (config.masking) to anyone who may
    only read (analysts), and to an answer made outside a request. `masked_secret_fields` names them."""

    masked_secret_fields: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        if request is None or not can_edit(request.user):
            for name in self.masked_secret_fields:
                if data.get(name):
                    data[name] = mask_secret(data[name])
        return data


class InboundCredentialsFields(MaskedSecretsForViewers, serializers.ModelSerializer):
    """An app's or an integration's inbound token and signing secret (in full for admins and
    managers, masked for read-only staff), its signing switch and its source-IP allow list."""

    masked_secret_fields = ("token", "signing_secret")

    signing_secret = serializers.SerializerMethodField(
        help_text="The secret inbound requests are signed with (masked for analysts; empty until generated)."
    )

    def get_signing_secret(self, owner: App | Integration) -> str:
        return owner.readable_inbound_secret()

    def validate_allowed_ips(self, value: str) -> str:
        return "\n".join(allow_list_lines(value))


class TokenRotateSerializer(serializers.Serializer):
    """How long the current token keeps working once the new one is issued."""

    overlap = serializers.ChoiceField(
        choices=[(key, label) for key, (label, _) in TOKEN_OVERLAPS.items()],
        default=DEFAULT_TOKEN_OVERLAP,
        help_text="1h, 24h, 7d (default) or 30d: old and new token both work until it ends.",
    )


class ChannelSerializer(serializers.ModelSerializer):
    """A marketing channel."""

    class Meta:
        model = Channel
        fields = ["id", "name", "created_at"]

    def validate_name(self, value: str) -> str:
        rows = selectors.channels_for(request_organization(self.context))
        return _refuse_taken_name(rows, value.strip(), self.instance, "channel")


class AppSerializer(InboundCredentialsFields):
    """An advertised app or site; `token` is the advertiser's inbound token."""

    class Meta:
        model = App
        fields = ["id", "name", "platform", "store_id", "default_url", *INBOUND_FIELDS, "created_at"]
        read_only_fields = ["token", "previous_token_valid_until"]

    def validate_name(self, value: str) -> str:
        rows = selectors.apps_for(request_organization(self.context))
        return _refuse_taken_name(rows, value.strip(), self.instance, "app")


class ParameterRowSerializer(serializers.Serializer):
    """A tracking-URL parameter: our name, the partner's macro for it, and the URLs it goes in."""

    name = serializers.CharField(max_length=50)
    placeholder = serializers.CharField(max_length=200, allow_blank=True, default="")
    in_click = serializers.BooleanField(default=True)
    in_impression = serializers.BooleanField(default=True)


class PartnerSerializer(MaskedURLsForViewers, serializers.ModelSerializer):
    """A traffic supplier; built-in partners carry the presets the wizard starts from.

    Both postback URLs are built from the model fields, so they carry its `validate_outbound`
    (macros, no macro in the host, a public address), like every other outbound URL.
    """

    masked_url_fields = ("preset_postback_url", "publisher_postback_url")

    default_channel = OrganizationRelatedField(
        selector=selectors.channels_for, allow_null=True, required=False
    )
    preset_parameters = serializers.ListField(child=ParameterRowSerializer(), required=False)
    publisher_postback_signed = serializers.SerializerMethodField(
        help_text="Whether publisher-postback calls are signed (the secret is never shown)."
    )

    class Meta:
        model = Partner
        fields = [
            "id",
            "name",
            "kind",
            "default_channel",
            "status",
            "contact_name",
            "contact_email",
            "website",
            "preset_postback_url",
            "preset_parameters",
            "publisher_postback_url",
            "publisher_postback_signed",
            "created_at",
        ]

    def get_publisher_postback_signed(self, partner: Partner) -> bool:
        return bool(partner.publisher_postback_secret_encrypted)

    def validate_name(self, value: str) -> str:
        rows = selectors.partners_for(request_organization(self.context))
        return _refuse_taken_name(rows, value.strip(), self.instance, "partner")

    def validate_preset_parameters(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        unknown = [row["name"] for row in value if row["name"] not in TRACKING_PARAM_NAMES]
        if unknown:
            raise serializers.ValidationError(
                [f"“{name}” is not a tracking parameter we understand." for name in unknown]
            )
        return [dict(row) for row in value]


class TrackingParameterSerializer(serializers.ModelSerializer):
    """A row of an integration's tracking-URL table."""

    class Meta:
        model = TrackingParameter
        fields = ["name", "placeholder", "in_click", "in_impression"]


class PostbackTemplateSerializer(MaskedURLsForViewers, serializers.ModelSerializer):
    """An outbound postback URL of an integration; `goal` is empty for the install postback."""

    masked_url_fields = ("url",)

    goal = serializers.SlugRelatedField(slug_field="code", read_only=True)
    signed = serializers.SerializerMethodField(
        help_text="Whether calls are signed (the secret is never shown)."
    )

    class Meta:
        model = PostbackTemplate
        fields = ["id", "goal", "event", "url", "is_active", "signed"]

    def get_signed(self, template: PostbackTemplate) -> bool:
        return bool(template.signing_secret_encrypted)


class IntegrationLinkSerializer(serializers.ModelSerializer):
    """A tracking link as listed on its integration, with the URLs to hand to the partner."""

    offer_name = serializers.CharField(source="offer.name", read_only=True)
    click_url = serializers.SerializerMethodField()
    impression_url = serializers.SerializerMethodField()

    class Meta:
        model = TrackingLink
        fields = ["id", "code", "offer", "offer_name", "status", "click_url", "impression_url"]

    def get_click_url(self, link: TrackingLink) -> str:
        return link_click_url(link)

    def get_impression_url(self, link: TrackingLink) -> str:
        return link_impression_url(link)


class IntegrationSerializer(MaskedURLsForViewers, InboundCredentialsFields):
    """A partner connected to an app. Reads everything; changes status, channel and settings.

    `status_sync_url` is built from the model field and carries its `validate_outbound`.
    """

    masked_url_fields = ("status_sync_url",)

    app_name = serializers.CharField(source="app.name", read_only=True)
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    channel = OrganizationRelatedField(selector=selectors.channels_for, allow_null=True, required=False)
    channel_name = serializers.CharField(source="channel.name", read_only=True, allow_null=True, default=None)
    inbound_mapping = serializers.DictField(child=serializers.CharField(max_length=100), required=False)
    parameters = TrackingParameterSerializer(many=True, read_only=True)
    postback_templates = PostbackTemplateSerializer(many=True, read_only=True)
    links = IntegrationLinkSerializer(many=True, read_only=True)
    status_sync_signed = serializers.SerializerMethodField(
        help_text="Whether status-sync calls are signed (the secret is never shown)."
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "app",
            "app_name",
            "partner",
            "partner_name",
            "channel",
            "channel_name",
            "status",
            *INBOUND_FIELDS,
            "ip_privacy",
            "status_sync_url",
            "status_sync_signed",
            "inbound_mapping",
            "parameters",
            "postback_templates",
            "links",
            "created_at",
        ]
        read_only_fields = ["app", "partner", "token", "previous_token_valid_until"]

    def get_status_sync_signed(self, integration: Integration) -> bool:
        return bool(integration.status_sync_secret_encrypted)


class IntegrationConnectSerializer(serializers.Serializer):
    """What connecting a partner to an app takes: the wizard's four steps in one request.

    Give an existing `partner`, or a `partner_name` for a new custom partner; a `channel`,
    or a `new_channel_name` to create. Without `parameters` the wizard's default rows apply.
    """

    app = OrganizationRelatedField(selector=selectors.apps_for)
    partner = OrganizationRelatedField(selector=selectors.partners_for, allow_null=True, required=False)
    partner_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    channel = OrganizationRelatedField(selector=selectors.channels_for, allow_null=True, required=False)
    new_channel_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    postback_url = serializers.CharField(
        max_length=2000, allow_blank=True, default="", validators=[validate_outbound]
    )
    parameters = ParameterRowSerializer(many=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("partner") is not None and attrs["partner_name"].strip():
            raise serializers.ValidationError(
                {"partner_name": ["Give either an existing partner or a new partner's name, not both."]}
            )
        if attrs.get("channel") is not None and attrs["new_channel_name"].strip():
            raise serializers.ValidationError(
                {"new_channel_name": ["Give either an existing channel or a new channel's name, not both."]}
            )
        new_channel_name = attrs["new_channel_name"].strip()
        if new_channel_name:
            # Typing the name of a channel that exists picks it instead of making a twin.
            organization = request_organization(self.context)
            existing = selectors.channels_for(organization).filter(name__iexact=new_channel_name).first()
            if existing is not None:
                attrs["channel"], attrs["new_channel_name"] = existing, ""
        if "parameters" not in attrs:
            attrs["parameters"] = [dict(row) for row in DEFAULT_PARAMETER_ROWS]
        return attrs


class LandingSerializer(serializers.ModelSerializer):
    """A landing page or deeplink of an offer."""

    class Meta:
        model = Landing
        fields = ["id", "name", "kind", "url", *TARGETING_FIELDS]


class CreativeSerializer(serializers.ModelSerializer):
    """An uploaded creative; `file` is its download URL."""

    class Meta:
        model = Creative
        fields = ["id", "name", "file", "created_at"]


class OfferSerializer(serializers.ModelSerializer):
    """An offer (a campaign to publishers) with its landings and creatives."""

    app = OrganizationRelatedField(selector=selectors.apps_for)
    fallback_offer = OrganizationRelatedField(selector=selectors.offers_for, allow_null=True, required=False)
    landings = LandingSerializer(many=True, read_only=True)
    creatives = CreativeSerializer(many=True, read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id",
            "app",
            "name",
            "type",
            "rate",
            "currency",
            "category",
            "description",
            "visibility",
            "status",
            "attribution_window_days",
            *TARGETING_FIELDS,
            "fallback_offer",
            "fallback_url",
            "landings",
            "creatives",
            "created_at",
        ]
        # The name's uniqueness per app is checked in validate() as a field error.
        validators: list[Any] = []

    def validate_currency(self, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Enter a three-letter ISO 4217 currency code, e.g. USD.")
        return value.upper()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        app = attrs.get("app")
        if self.instance is not None and app is not None and app != self.instance.app:
            raise serializers.ValidationError({"app": ["An offer cannot move to another app."]})
        app = app or self.instance.app
        name = attrs.get("name", self.instance.name if self.instance else "")
        try:
            _refuse_taken_name(selectors.offers_of(app), name, self.instance, "offer of this app")
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"name": exc.detail}) from exc
        return self._routing(attrs)

    def _routing(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Targeting and fallback checked by the model's own rules; targeting kept in one spelling."""
        probe = copy.copy(self.instance) if self.instance is not None else Offer()
        for name, value in attrs.items():
            setattr(probe, name, value)
        try:
            probe.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs | {name: getattr(probe, name) for name in TARGETING_FIELDS if name in attrs}


class AliasCodesField(serializers.ListField):
    """A goal's aliases as a list of codes."""

    child = serializers.SlugField(max_length=50)

    def get_attribute(self, instance: Goal) -> list[str]:
        return [alias.code for alias in instance.aliases.all()]


def _goal_save(goal: Goal, aliases: list[str] | None) -> Goal:
    """Save the goal and, when `aliases` is given, make them exactly its aliases."""
    try:
        goal_save(goal=goal, aliases=aliases)
    except IntegrityError as exc:
        # Another request took a code between validation and saving.
        raise serializers.ValidationError(
            {"code": ["This code or an alias was just taken by another goal of the offer: try again."]}
        ) from exc
    return goal


class GoalSerializer(serializers.ModelSerializer):
    """A goal of an offer, found by its `code` or any of its `aliases`."""

    offer = OrganizationRelatedField(selector=selectors.offers_for)
    aliases = AliasCodesField(required=False)

    class Meta:
        model = Goal
        fields = [
            "id",
            "offer",
            "code",
            "name",
            "payout_type",
            "payout",
            "revenue",
            "is_default",
            "position",
            "aliases",
        ]
        # Code, alias and default uniqueness per offer are checked in validate() as field errors.
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        goal: Goal | None = self.instance
        offer = attrs.get("offer")
        current_aliases: list[str] = []
        if goal is not None:
            if offer is not None and offer != goal.offer:
                raise serializers.ValidationError({"offer": ["A goal cannot move to another offer."]})
            offer = goal.offer
            current_aliases = [alias.code for alias in goal.aliases.all()]
        others = list(selectors.other_goals_of(offer, excluding=goal))
        errors = _goal_code_errors(
            others=others,
            code=attrs.get("code", goal.code if goal else ""),
            new_aliases=attrs.get("aliases"),
            current_aliases=current_aliases,
        )
        if attrs.get("is_default") and any(other.is_default for other in others):
            errors["is_default"] = ["The offer has a default goal already: unset it there first."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Goal:
        aliases = validated_data.pop("aliases", [])
        return _goal_save(Goal(**validated_data), aliases)

    def update(self, instance: Goal, validated_data: dict[str, Any]) -> Goal:
        aliases = validated_data.pop("aliases", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return _goal_save(instance, aliases)


def _goal_code_errors(
    *, others: list[Goal], code: str, new_aliases: list[str] | None, current_aliases: list[str]
) -> dict[str, list[str]]:
    """Field errors for a code or aliases that another goal of the offer (or the goal itself) uses."""
    taken: dict[str, Goal] = {}
    for other in others:
        taken[other.code] = other
        for alias in other.aliases.all():
            taken[alias.code] = other
    errors: dict[str, list[str]] = {}
    if code in taken:
        errors["code"] = [f"“{code}” is already used by the goal {taken[code]}."]
    elif new_aliases is None and code in current_aliases:
        errors["code"] = [f"“{code}” is already one of this goal's aliases."]
    if new_aliases is not None:
        alias_errors: list[str] = []
        seen: set[str] = set()
        for alias in new_aliases:
            if alias in seen:
                alias_errors.append(f"“{alias}” appears twice.")
            elif alias == code:
                alias_errors.append(f"“{alias}” is the goal's own code.")
            elif alias in taken:
                alias_errors.append(f"“{alias}” is already used by the goal {taken[alias]}.")
            seen.add(alias)
        if alias_errors:
            errors["aliases"] = alias_errors
    return errors


class TrackingLinkSerializer(serializers.ModelSerializer):
    """A tracking link (a flow): a partner promoting an offer, with the URLs to hand out.

    The integration is found from the partner and the offer's app; partner and offer are
    fixed once the link exists.
    """

    partner = OrganizationRelatedField(selector=selectors.partners_for)
    offer = OrganizationRelatedField(selector=selectors.offers_for)
    landing = OrganizationRelatedField(selector=selectors.landings_for, allow_null=True, required=False)
    click_url = serializers.SerializerMethodField()
    impression_url = serializers.SerializerMethodField()

    class Meta:
        model = TrackingLink
        fields = [
            "id",
            "code",
            "partner",
            "integration",
            "offer",
            "landing",
            "status",
            "sub1",
            "sub2",
            "sub3",
            "sub4",
            "sub5",
            "click_url",
            "impression_url",
            "created_at",
        ]
        read_only_fields = ["code", "integration"]

    def get_click_url(self, link: TrackingLink) -> str:
        return link_click_url(link)

    def get_impression_url(self, link: TrackingLink) -> str:
        return link_impression_url(link)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        link: TrackingLink | None = self.instance
        if link is not None:
            for field in ("partner", "offer"):
                if field in attrs and attrs[field] != getattr(link, field):
                    raise serializers.ValidationError(
                        {field: [f"A link's {field} is fixed: create a new link instead."]}
                    )
        offer = attrs.get("offer") or link.offer
        landing = attrs.get("landing")
        if landing is not None and landing.offer_id != offer.pk:
            raise serializers.ValidationError({"landing": ["This landing belongs to another offer."]})
        if link is None:
            integration = selectors.integration_of(
                organization=request_organization(self.context), app=offer.app, partner=attrs["partner"]
            )
            if integration is None:
                raise serializers.ValidationError(
                    {"partner": [f"Connect the partner to the app {offer.app} first."]}
                )
            attrs["integration"] = integration
        return attrs


class ScreeningRuleSerializer(serializers.ModelSerializer):
    """A screening filter of an integration: kind, threshold, window, action and reason code."""

    integration = OrganizationRelatedField(selector=selectors.integrations_for)

    class Meta:
        model = ScreeningRule
        fields = [
            "id",
            "integration",
            "kind",
            "threshold",
            "window_seconds",
            "action",
            "reason_code",
            "countries",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's own rules (a threshold where needed, valid country codes)."""
        rule = ScreeningRule(**{**self._current(), **attrs})
        try:
            rule.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        names = ("integration", "kind", "threshold", "window_seconds", "action", "reason_code", "countries")
        return {name: getattr(self.instance, name) for name in names}


class SourceListEntrySerializer(serializers.ModelSerializer):
    """One source on an integration's blacklist or whitelist."""

    integration = OrganizationRelatedField(selector=selectors.integrations_for)

    class Meta:
        model = SourceListEntry
        fields = ["id", "integration", "list", "source", "created_at"]
        read_only_fields = ["created_at"]

    def validate_source(self, value: str) -> str:
        return value.strip()


class SourceListPasteSerializer(serializers.Serializer):
    """Bulk paste: sources one per line onto a list; `replace` makes the list exactly these."""

    integration = OrganizationRelatedField(selector=selectors.integrations_for)
    list = serializers.ChoiceField(choices=SourceListEntry.List.choices)
    sources = serializers.CharField(
        allow_blank=True, trim_whitespace=False, style={"base_template": "textarea.html"}
    )
    replace = serializers.BooleanField(default=False)


class SourceListPasteResultSerializer(serializers.Serializer):
    """What a paste changed."""

    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    total = serializers.IntegerField()


class DestinationResumeSerializer(serializers.Serializer):
    """Which paused destination of the integration to resume."""

    destination = serializers.CharField(
        max_length=40,
        help_text="The destination's key, as deliveries name it: template:<id>, publisher:<partner id>, "
        "status_sync:<integration id> or clevertap:<destination id>.",
    )


class DestinationResumeResultSerializer(serializers.Serializer):
    """What resuming set going: the deliveries that waited and those that failed meanwhile."""

    destination = serializers.CharField()
    resent = serializers.IntegerField(help_text="How many deliveries will be sent again.")
    detail = serializers.CharField()


class SmartLinkEntrySerializer(serializers.ModelSerializer):
    """One destination of a smart link: a tracking link of its partner, with priority and weight."""

    link = OrganizationRelatedField(selector=selectors.links_for)

    class Meta:
        model = SmartLinkEntry
        fields = ["id", "link", "priority", "weight"]
        read_only_fields = ["id"]


class SmartLinkSerializer(serializers.ModelSerializer):
    """A smart link (`/s/<code>`): its entries are replaced as a whole when `entries` is sent."""

    partner = OrganizationRelatedField(selector=selectors.partners_for)
    entries = SmartLinkEntrySerializer(many=True, required=False)
    url = serializers.SerializerMethodField()

    class Meta:
        model = SmartLink
        fields = [
            "id",
            "name",
            "code",
            "partner",
            "mode",
            "status",
            "catch_all_url",
            "entries",
            "url",
            "created_at",
        ]
        read_only_fields = ["code"]
        validators: list[Any] = []

    def get_url(self, smart_link: SmartLink) -> str:
        return smart_link_url(smart_link.code)

    def validate_catch_all_url(self, value: str) -> str:
        problems = errors_of(value) if value else []
        if problems:
            raise serializers.ValidationError(problems)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("name", self.instance.name if self.instance else "")
        try:
            _refuse_taken_name(
                selectors.smart_links_for(request_organization(self.context)),
                name,
                self.instance,
                "smart link",
            )
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"name": exc.detail}) from exc
        partner = attrs.get("partner") or getattr(self.instance, "partner", None)
        foreign = [
            entry["link"].code for entry in attrs.get("entries", []) if entry["link"].partner_id != partner.pk
        ]
        if foreign:
            raise serializers.ValidationError(
                {"entries": [f"Entries must be {partner}'s own links; not: {', '.join(foreign)}."]}
            )
        links = [entry["link"].pk for entry in attrs.get("entries", [])]
        if len(links) != len(set(links)):
            raise serializers.ValidationError({"entries": ["Each link may be an entry once."]})
        moved = self.instance is not None and attrs.get("partner", partner) != self.instance.partner
        if moved and "entries" not in attrs and self.instance.entries.exists():
            raise serializers.ValidationError(
                {"partner": ["Send the new partner's links as `entries` when changing the partner."]}
            )
        return attrs

    def create(self, validated_data: dict[str, Any]) -> SmartLink:
        entries = validated_data.pop("entries", [])
        return smart_link_save(smart_link=SmartLink(**validated_data), entries=entries)

    def update(self, instance: SmartLink, validated_data: dict[str, Any]) -> SmartLink:
        entries = validated_data.pop("entries", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return smart_link_save(smart_link=instance, entries=entries)


class CapSerializer(serializers.ModelSerializer):
    """A cap (SPEC 4.5) with its use in the current period: `used`, `remaining`, `resets_at`.

    `resets_at` is the end of the current day or month in the organization's time zone
    (null for a total cap). A list reads every cap's use in one query (the view passes it in
    the context as `cap_uses`).
    """

    offer = OrganizationRelatedField(selector=selectors.offers_for)
    partner = OrganizationRelatedField(selector=selectors.partners_for, required=False, allow_null=True)
    goal = OrganizationRelatedField(selector=selectors.goals_for, required=False, allow_null=True)
    used = serializers.SerializerMethodField()
    remaining = serializers.SerializerMethodField()
    refused = serializers.SerializerMethodField()
    period_start = serializers.SerializerMethodField()
    resets_at = serializers.SerializerMethodField()

    class Meta:
        model = Cap
        fields = [
            "id",
            "offer",
            "partner",
            "goal",
            "metric",
            "period",
            "limit",
            "is_active",
            "used",
            "remaining",
            "refused",
            "period_start",
            "resets_at",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's own rules: the goal is the offer's, a conversions cap is whole."""
        names = ("offer", "partner", "goal", "metric", "period", "limit")
        current = {name: getattr(self.instance, name) for name in names} if self.instance else {}
        try:
            Cap(**{**current, **attrs}).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _use(self, cap: Cap) -> CapUseNow:
        uses = self.context.get("cap_uses") or {}
        return uses.get(cap.pk) or cap_uses([cap])[cap.pk]

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_used(self, cap: Cap) -> str:
        return f"{self._use(cap).used:f}"

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_remaining(self, cap: Cap) -> str:
        return f"{self._use(cap).remaining:f}"

    @extend_schema_field(OpenApiTypes.INT)
    def get_refused(self, cap: Cap) -> int:
        """Conversions this cap turned away in the current period."""
        return self._use(cap).refused

    @extend_schema_field(OpenApiTypes.DATE)
    def get_period_start(self, cap: Cap) -> str:
        return self._use(cap).period_start.isoformat()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_resets_at(self, cap: Cap) -> str | None:
        resets_at = self._use(cap).resets_at
        return resets_at.isoformat() if resets_at else None

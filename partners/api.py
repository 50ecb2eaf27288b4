"""Management API viewsets of this app: apps, channels, partners, integrations, offers, goals, links, caps.

Every queryset starts from the requesting user's organization (partners.selectors), so
another organization's object answers 404 exactly like a missing one. Roles are
enforced by the default permission, accounts.permissions.RolePermission.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter
from rest_framework.serializers import as_serializer_error

from accounts.models import Organization
from accounts.permissions import organization_of
from leads import selectors as screening_selectors
from leads.caps import cap_uses
from leads.screening import parse_sources, source_list_paste
from partners import filters, selectors
from partners.models import (
    App,
    Cap,
    Channel,
    Goal,
    Integration,
    Offer,
    Partner,
    ScreeningRule,
    SmartLink,
    SourceListEntry,
    TrackingLink,
)
from partners.serializers import (
    AppSerializer,
    CapSerializer,
    ChannelSerializer,
    DestinationResumeResultSerializer,
    DestinationResumeSerializer,
    GoalSerializer,
    IntegrationConnectSerializer,
    IntegrationSerializer,
    OfferSerializer,
    PartnerSerializer,
    ScreeningRuleSerializer,
    SmartLinkSerializer,
    SourceListEntrySerializer,
    SourceListPasteResultSerializer,
    SourceListPasteSerializer,
    TokenRotateSerializer,
    TrackingLinkSerializer,
)
from partners.services import (
    TOKEN_OVERLAPS,
    inbound_secret_ensure,
    integration_connect,
    token_rotate,
    tracking_link_create,
)
from postbacks.pausing import ResumeRefused, destination_resume, integration_destinations, resumed_message


class Conflict(APIException):
    """409: the request is valid but clashes with other data (in use, or changed meanwhile)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with a change made at the same moment: reload and try again."
    default_code = "conflict"


class OrganizationViewSet(viewsets.ModelViewSet):
    """A viewset over one organization's rows; subclasses name the selector in get_queryset()."""

    @property
    def organization(self) -> Organization | None:
        return organization_of(self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer, organization=self.organization)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer)

    def _save(self, serializer: serializers.BaseSerializer, **extra: Any) -> None:
        # Validation catches duplicates; a duplicate written by a parallel request meanwhile is a 409.
        try:
            with transaction.atomic():
                serializer.save(**extra)
        except IntegrityError as exc:
            raise Conflict() from exc

    def perform_destroy(self, instance: Model) -> None:
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as exc:
            blockers = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            kinds = sorted({str(obj._meta.verbose_name_plural) for obj in blockers})
            raise Conflict(f"“{instance}” is still used by {', '.join(kinds)}: remove those first.") from exc


class InboundOwnerViewSet(OrganizationViewSet):
    """Apps and integrations: their inbound token can be rotated, and signing needs a secret."""

    def _save(self, serializer: serializers.BaseSerializer, **extra: Any) -> None:
        super()._save(serializer, **extra)
        inbound_secret_ensure(owner=serializer.instance)

    @extend_schema(request=TokenRotateSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request: Request, pk: str | None = None) -> Response:
        """A new inbound token (admins and managers); the current one keeps working for `overlap`."""
        owner = self.get_object()
        body = TokenRotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token_rotate(owner=owner, overlap=TOKEN_OVERLAPS[body.validated_data["overlap"]][1])
        return Response(self.get_serializer(self.get_queryset().get(pk=owner.pk)).data)


class AppViewSet(InboundOwnerViewSet):
    """The organization's apps and sites."""

    serializer_class = AppSerializer
    filterset_class = filters.AppFilterSet
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self) -> QuerySet[App]:
        return selectors.apps_for(self.organization)


class ChannelViewSet(OrganizationViewSet):
    """The organization's marketing channels."""

    serializer_class = ChannelSerializer
    filterset_class = filters.ChannelFilterSet
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self) -> QuerySet[Channel]:
        return selectors.channels_for(self.organization)


class PartnerViewSet(OrganizationViewSet):
    """The organization's partners. A partner connected to an app cannot be deleted (409)."""

    serializer_class = PartnerSerializer
    filterset_class = filters.PartnerFilterSet
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self) -> QuerySet[Partner]:
        return selectors.partners_for(self.organization)


@extend_schema_view(
    create=extend_schema(
        request=IntegrationConnectSerializer,
        responses={201: IntegrationSerializer},
        description="Connect a partner to an app, as the wizard does: partner, channel, "
        "install postback, tracking parameters and one tracking link per active offer.",
    )
)
class IntegrationViewSet(InboundOwnerViewSet):
    """Partners connected to apps, with their tracking parameters, postbacks and links."""

    serializer_class = IntegrationSerializer
    filterset_class = filters.IntegrationFilterSet
    ordering_fields = ["id", "created_at"]

    def get_queryset(self) -> QuerySet[Integration]:
        return selectors.integrations_for(self.organization)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        connect = IntegrationConnectSerializer(data=request.data, context=self.get_serializer_context())
        connect.is_valid(raise_exception=True)
        try:
            integration = integration_connect(
                organization=self.organization, actor=request.user, **connect.validated_data
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(as_serializer_error(exc)) from exc
        except IntegrityError as exc:
            raise Conflict() from exc
        data = self.get_serializer(self.get_queryset().get(pk=integration.pk)).data
        return Response(data, status=status.HTTP_201_CREATED, headers=self.get_success_headers(data))

    @extend_schema(request=DestinationResumeSerializer, responses=DestinationResumeResultSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Resume a paused destination of this integration (admins and managers): the deliveries
        that waited are sent and those that failed since the failures began are sent again."""
        integration = self.get_object()
        body = DestinationResumeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = body.validated_data["destination"]
        destinations = integration_destinations(integration)
        destination = next((d for d in destinations if d.key == key), None)
        if destination is None:
            known = ", ".join(d.key for d in destinations) or "none"
            message = f"“{key}” is not a destination of this integration (its destinations: {known})."
            raise serializers.ValidationError({"destination": [message]})
        try:
            count = destination_resume(destination=destination)
        except ResumeRefused as refusal:
            raise Conflict(str(refusal)) from refusal
        return Response({"destination": key, "resent": count, "detail": resumed_message(count)})


class OfferViewSet(OrganizationViewSet):
    """The organization's offers with their landings and creatives."""

    serializer_class = OfferSerializer
    filterset_class = filters.OfferFilterSet
    ordering_fields = ["id", "name", "rate", "created_at"]

    def get_queryset(self) -> QuerySet[Offer]:
        return selectors.offers_for(self.organization)


class GoalViewSet(OrganizationViewSet):
    """Goals of the organization's offers, with their aliases."""

    serializer_class = GoalSerializer
    filterset_class = filters.GoalFilterSet
    ordering_fields = ["id", "code", "position"]

    def get_queryset(self) -> QuerySet[Goal]:
        return selectors.goals_for(self.organization)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        # A goal belongs to its offer's organization; it has no organization field of its own.
        self._save(serializer)


class TrackingLinkViewSet(OrganizationViewSet):
    """Tracking links (flows) with their click and impression URLs."""

    serializer_class = TrackingLinkSerializer
    filterset_class = filters.TrackingLinkFilterSet
    ordering_fields = ["id", "code", "created_at"]

    def get_queryset(self) -> QuerySet[TrackingLink]:
        return selectors.links_for(self.organization)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        fields = dict(serializer.validated_data)
        integration = fields.pop("integration")
        offer = fields.pop("offer")
        fields.pop("partner")
        link = tracking_link_create(integration=integration, offer=offer, **fields)
        serializer.instance = self.get_queryset().get(pk=link.pk)


class SmartLinkViewSet(OrganizationViewSet):
    """Smart links (`/s/<code>`): one URL sending each click to one of a partner's links."""

    serializer_class = SmartLinkSerializer
    filterset_class = filters.SmartLinkFilterSet
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self) -> QuerySet[SmartLink]:
        return selectors.smart_links_for(self.organization)


class ScreeningRuleViewSet(OrganizationViewSet):
    """Screening filters of the organization's integrations; a change applies from the next click."""

    serializer_class = ScreeningRuleSerializer
    filterset_class = filters.ScreeningRuleFilterSet
    ordering_fields = ["id", "created_at"]

    def get_queryset(self) -> QuerySet[ScreeningRule]:
        return screening_selectors.screening_rules_for(self.organization)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        # A rule belongs to its integration's organization; it has no organization field of its own.
        self._save(serializer)


class SourceListEntryViewSet(OrganizationViewSet):
    """Sources on the integrations' blacklists and whitelists, one row each; `paste` adds many."""

    serializer_class = SourceListEntrySerializer
    filterset_class = filters.SourceListEntryFilterSet
    ordering_fields = ["id", "source", "created_at"]

    def get_queryset(self) -> QuerySet[SourceListEntry]:
        return screening_selectors.source_entries_for(self.organization)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer)

    @extend_schema(request=SourceListPasteSerializer, responses=SourceListPasteResultSerializer)
    @action(detail=False, methods=["post"])
    def paste(self, request: Request) -> Response:
        """Paste sources one per line onto a list; with `replace: true` the list becomes exactly these."""
        body = SourceListPasteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        result = source_list_paste(
            integration=body.validated_data["integration"],
            list_kind=body.validated_data["list"],
            sources=parse_sources(body.validated_data["sources"]),
            replace=body.validated_data["replace"],
        )
        return Response(SourceListPasteResultSerializer(result).data)


class CapViewSet(OrganizationViewSet):
    """Caps of the organization's offers with each one's use this period (SPEC 4.5)."""

    serializer_class = CapSerializer
    filterset_class = filters.CapFilterSet
    ordering_fields = ["id", "created_at"]

    def get_queryset(self) -> QuerySet[Cap]:
        return selectors.caps_for(self.organization)

    def paginate_queryset(self, queryset: QuerySet[Cap]) -> list[Cap] | None:
        # A page's caps read their use in one query, not one per cap.
        page = super().paginate_queryset(queryset)
        self._page_uses = cap_uses(page if page is not None else queryset)
        return page

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "cap_uses": getattr(self, "_page_uses", None)}


def register(router: BaseRouter) -> None:
    """Add this app's viewsets to the management API router."""
    router.register("apps", AppViewSet, basename="app")
    router.register("channels", ChannelViewSet, basename="channel")
    router.register("partners", PartnerViewSet, basename="partner")
    router.register("integrations", IntegrationViewSet, basename="integration")
    router.register("offers", OfferViewSet, basename="offer")
    router.register("goals", GoalViewSet, basename="goal")
    router.register("links", TrackingLinkViewSet, basename="link")
    router.register("smart-links", SmartLinkViewSet, basename="smart-link")
    router.register("screening-rules", ScreeningRuleViewSet, basename="screening-rule")
    router.register("source-lists", SourceListEntryViewSet, basename="source-list-entry")
    router.register("caps", CapViewSet, basename="cap")

"""Management API of the postbacks app: the inbound log (with replay), deliveries (with
resend) and CleverTap destinations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from accounts.permissions import organization_of
from leads.privacy import display_params, inbound_privacy, with_inbound_privacy
from leads.selectors import inbound_postbacks_for
from postbacks.filters import DeliveryFilter
from postbacks.models import InboundPostback
from postbacks.selectors import clevertap_destinations_for, deliveries_for
from postbacks.serializers import (
    CleverTapDestinationSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
)
from postbacks.services import DeliveryRefused, ReplayRefused, delivery_resend, inbound_replay


class InboundPostbackSerializer(serializers.ModelSerializer):
    """One received request, as logged (tokens masked, IPs as leads.privacy.inbound_privacy shows them)."""

    params = serializers.SerializerMethodField()

    def get_params(self, obj: InboundPostback) -> dict[str, Any]:
        return display_params(obj.params, inbound_privacy(obj))

    class Meta:
        model = InboundPostback
        fields = [
            "id",
            "endpoint",
            "method",
            "path",
            "params",
            "source_ip",
            "user_agent",
            "received_at",
            "outcome",
            "http_status",
            "reason",
            "app",
            "integration",
            "lead",
            "replay_of",
            "replayed_at",
        ]
        read_only_fields = fields


class InboundPostbackViewSet(viewsets.ReadOnlyModelViewSet):
    """Every request our ingestion endpoints received; admins and managers replay rejected ones."""

    serializer_class = InboundPostbackSerializer
    filterset_fields = {
        "outcome": ["exact"],
        "endpoint": ["exact"],
        "http_status": ["exact"],
        "received_at": ["gte", "lte"],
        "lead": ["exact"],
    }
    ordering_fields = ["received_at", "id"]

    def get_queryset(self):
        # Each row's IP privacy comes with it (its lead's integration, its app's): no query per row.
        return with_inbound_privacy(inbound_postbacks_for(organization_of(self.request.user)))

    @extend_schema(request=None, responses=InboundPostbackSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Run a rejected postback again, as if it arrived now; answers the new log row.

        409 when the postback was not rejected or was replayed already.
        """
        try:
            replay = inbound_replay(inbound=self.get_object(), actor=request.user)
        except ReplayRefused as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(InboundPostbackSerializer(replay).data, status=201)


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Outbound deliveries (partner and publisher postbacks, status sync, CleverTap), newest first.

    URLs are masked. Admins and managers re-send one: exactly one attempt, made at once.
    """

    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "id", "next_attempt_at"]

    def get_queryset(self):
        deliveries = deliveries_for(organization_of(self.request.user))
        if self.action != "list":
            return deliveries.prefetch_related("attempts")
        return deliveries

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    @extend_schema(request=None, responses=DeliveryDetailSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        """Send the delivery once more, now; answers it with its attempts, the new one last.

        409 when it was never sendable (skipped) or is being sent at this moment.
        """
        delivery = self.get_object()
        try:
            delivery_resend(delivery=delivery, actor=request.user)
        except DeliveryRefused as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(DeliveryDetailSerializer(self.get_queryset().get(pk=delivery.pk)).data)


class CleverTapDestinationViewSet(viewsets.ModelViewSet):
    """Apps' CleverTap projects. The passcode is write-only (stored encrypted); `passcode_set` says
    whether one is stored."""

    serializer_class = CleverTapDestinationSerializer
    filterset_fields = ["app", "is_active", "region"]

    def get_queryset(self):
        return clevertap_destinations_for(organization_of(self.request.user))


def register(router: BaseRouter) -> None:
    """Add this app's viewsets to the management API router."""
    router.register("postbacks", InboundPostbackViewSet, basename="inboundpostback")
    router.register("deliveries", DeliveryViewSet, basename="delivery")
    router.register("clevertap-destinations", CleverTapDestinationViewSet, basename="clevertapdestination")

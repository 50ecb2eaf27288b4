"""Management API of the postbacks app: deliveries (with re-send) and CleverTap destinations."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from accounts.permissions import organization_of
from postbacks.filters import DeliveryFilter
from postbacks.selectors import clevertap_destinations_for, deliveries_for
from postbacks.serializers import (
    CleverTapDestinationSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
)
from postbacks.services import DeliveryRefused, delivery_resend


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
    router.register("deliveries", DeliveryViewSet, basename="delivery")
    router.register("clevertap-destinations", CleverTapDestinationViewSet, basename="clevertapdestination")

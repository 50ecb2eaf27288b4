"""The inbound log in the management API (`/api/v1/postbacks/`), with a replay action and the debugger."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from accounts.permissions import is_staff_member, organization_of
from ingest.debugger import MAX_BODY_LENGTH, MAX_URL_LENGTH, METHODS, DebugRefused, postback_debug
from ingest.models import InboundPostback
from ingest.selectors import inbound_postbacks_for
from ingest.services import ReplayRefused, inbound_replay
from leads.privacy import display_params, inbound_privacy, with_inbound_privacy


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


class DebugRequestSerializer(serializers.Serializer):
    """An inbound URL to debug, and how it would be sent."""

    url = serializers.CharField(max_length=MAX_URL_LENGTH)
    method = serializers.ChoiceField(choices=METHODS, default="GET")
    body = serializers.CharField(
        max_length=MAX_BODY_LENGTH, required=False, default="", allow_blank=True, trim_whitespace=False
    )


class StaffMember(BasePermission):
    """Admins, managers and analysts: the debugger writes nothing, so read-only staff may use it."""

    message = "This API is for an organization's staff: send a valid staff API token."

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_staff_member(request.user)


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

    @extend_schema(request=DebugRequestSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"], permission_classes=[StaffMember])
    def debug(self, request: Request) -> Response:
        """How an inbound URL would be processed (the postback debugger); nothing is written.

        The answer has the endpoint's status code and JSON, the steps (token and scope, target,
        key, lead, goal, status, money, screening), the lead as it would be stored, its events
        and the deliveries that would go out (URLs with secrets masked). 400 when the URL is not
        one of the inbound endpoints. A token of another organization is treated as unknown.
        """
        asked = DebugRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            debugged = postback_debug(organization=organization_of(request.user), **asked.validated_data)
        except DebugRefused as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(debugged.as_json())


def register(router: BaseRouter) -> None:
    router.register("postbacks", InboundPostbackViewSet, basename="inboundpostback")

"""Management API of traffic and leads: clicks (read-only), leads with status and verdict actions,
and the screening report."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from accounts.permissions import organization_of
from config.replica import read_reports
from leads import selectors
from leads.filters import ClickFilter, LeadFilter, ReportPeriodForm
from leads.models import LeadEvent
from leads.serializers import (
    ClickSerializer,
    LeadBulkStatusSerializer,
    LeadDetailSerializer,
    LeadGoalSerializer,
    LeadSerializer,
    LeadStatusSerializer,
    LeadVerdictSerializer,
    ScreeningReportRowSerializer,
)
from leads.services import lead_change_goal, lead_set_status, lead_set_verdict
from partners.models import Goal


class ClickViewSet(viewsets.ReadOnlyModelViewSet):
    """Clicks of your organization, newest first."""

    serializer_class = ClickSerializer
    filterset_class = ClickFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return selectors.clicks_for(organization_of(self.request.user)).order_by("-created_at", "-id")


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leads of your organization; admins and managers change their status and goal."""

    filterset_class = LeadFilter
    ordering_fields = ["created_at", "id", "status", "payout", "revenue"]

    def get_queryset(self):
        leads = selectors.leads_for(organization_of(self.request.user)).order_by("-created_at", "-id")
        if self.action == "retrieve":
            return leads.prefetch_related("events__actor")
        return leads

    def get_serializer_class(self):
        return LeadDetailSerializer if self.action == "retrieve" else LeadSerializer

    def _answer(self, lead) -> Response:
        return Response(
            LeadDetailSerializer(self.get_queryset().prefetch_related("events__actor").get(pk=lead.pk)).data
        )

    @extend_schema(request=LeadStatusSerializer, responses=LeadDetailSerializer)
    @action(detail=True, methods=["post"])
    def set_status(self, request: Request, pk: str | None = None) -> Response:
        """Move the lead to another status (an event records who did it)."""
        body = LeadStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lead = self.get_object()
        lead_set_status(
            lead=lead, status=body.validated_data["status"], source=LeadEvent.Source.API, actor=request.user
        )
        return self._answer(lead)

    @extend_schema(request=LeadGoalSerializer, responses=LeadDetailSerializer)
    @action(detail=True, methods=["post"])
    def set_goal(self, request: Request, pk: str | None = None) -> Response:
        """Count the lead for another goal of its offer; payout and revenue are recalculated."""
        body = LeadGoalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lead = self.get_object()
        goal = Goal.objects.filter(offer_id=lead.offer_id, pk=body.validated_data["goal"]).first()
        if goal is None:
            return Response({"goal": ["Not a goal of this lead's offer."]}, status=400)
        lead_change_goal(lead=lead, goal=goal, source=LeadEvent.Source.API, actor=request.user)
        return self._answer(lead)

    @extend_schema(request=LeadVerdictSerializer, responses=LeadDetailSerializer)
    @action(detail=True, methods=["post"])
    def set_verdict(self, request: Request, pk: str | None = None) -> Response:
        """Override the screening verdict (ok, flagged, rejected); a verdict event records who did it.

        Rejecting holds the payout at 0; un-rejecting restores what the lead would pay.
        """
        body = LeadVerdictSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lead = self.get_object()
        lead_set_verdict(
            lead=lead,
            verdict=body.validated_data["verdict"],
            note=body.validated_data["note"],
            source=LeadEvent.Source.API,
            actor=request.user,
        )
        return self._answer(lead)

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="First day, YYYY-MM-DD (default: 6 days ago)."),
            OpenApiParameter("until", str, description="Last day, YYYY-MM-DD (default: today)."),
            OpenApiParameter("export", str, enum=["csv"], description="csv: download the report as CSV."),
        ],
        responses=ScreeningReportRowSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="screening-report", filterset_class=None)
    def screening_report(self, request: Request) -> Response | HttpResponse:
        """Flagged and rejected clicks and leads by partner, offer, source (sub1) and reason code."""
        period = ReportPeriodForm(request.query_params)
        if not period.is_valid():
            return Response(period.errors, status=400)
        since, until = period.bounds()
        organization = organization_of(request.user)
        rows = read_reports(
            lambda using: selectors.screening_report(organization, since=since, until=until, using=using)
        )
        if period.cleaned_data["export"] == "csv":
            return csv_download(rows, period)
        return Response(ScreeningReportRowSerializer(rows, many=True).data)

    @extend_schema(request=LeadBulkStatusSerializer)
    @action(detail=False, methods=["post"])
    def bulk_set_status(self, request: Request) -> Response:
        """Move several leads to one status; answers which changed and which ids were not found."""
        body = LeadBulkStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = set(body.validated_data["ids"])
        leads = list(self.get_queryset().filter(pk__in=ids))
        changed = [
            lead.pk
            for lead in leads
            if lead_set_status(
                lead=lead,
                status=body.validated_data["status"],
                source=LeadEvent.Source.API,
                actor=request.user,
            )
        ]
        found = {lead.pk for lead in leads}
        return Response({"changed": sorted(changed), "not_found": sorted(ids - found)})


def csv_download(rows: list[dict], period: ReportPeriodForm) -> HttpResponse:
    """The screening report as a CSV attachment named after its period."""
    name = f"screening-{period.cleaned_data['since']}-{period.cleaned_data['until']}.csv"
    response = HttpResponse(selectors.screening_report_dataset(rows).export("csv"), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def register(router: BaseRouter) -> None:
    """Add this app's viewsets to the management API router."""
    router.register("clicks", ClickViewSet, basename="click")
    router.register("leads", LeadViewSet, basename="lead")

"""Representations of clicks and leads for the management API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.money import format_money
from leads.models import Click, Lead, LeadEvent, LeadStatus, Verdict
from leads.privacy import display_ip, display_params


class PrivateIpMixin:
    """IPs (the `ip` column, IP-named parameters, screening details) as the integration's privacy shows them.

    Needs the row's integration loaded (the selectors select it).
    """

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        ip_privacy = instance.integration.ip_privacy
        if "ip" in data:
            data["ip"] = display_ip(instance.ip, ip_privacy)
        for name in ("params", "verdict_details"):
            if name in data:
                data[name] = display_params(data[name], ip_privacy)
        return data


class ClickSerializer(PrivateIpMixin, serializers.ModelSerializer):
    """A click as the API lists it (read-only); IPs obfuscated where the integration's privacy is on."""

    link_code = serializers.CharField(source="link.code", read_only=True)

    class Meta:
        model = Click
        fields = [
            "id",
            "click_id",
            "integration",
            "link",
            "link_code",
            "partner",
            "offer",
            "landing",
            "partner_click_id",
            "ref_id",
            "creative_id",
            "sub1",
            "sub2",
            "sub3",
            "sub4",
            "sub5",
            "idfa",
            "gaid",
            "android_id",
            "device_id",
            "ip",
            "user_agent",
            "device_type",
            "os",
            "browser",
            "country",
            "asn",
            "as_org",
            "language",
            "referer",
            "params",
            "verdict",
            "verdict_reason",
            "verdict_rule",
            "verdict_details",
            "created_at",
        ]
        read_only_fields = fields


class LeadEventSerializer(serializers.ModelSerializer):
    """One change of a lead."""

    actor = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = LeadEvent
        fields = [
            "id",
            "kind",
            "source",
            "actor",
            "inbound",
            "from_status",
            "to_status",
            "from_goal",
            "to_goal",
            "from_payout",
            "to_payout",
            "from_revenue",
            "to_revenue",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class LeadSerializer(PrivateIpMixin, serializers.ModelSerializer):
    """A lead as the API lists it; money as decimal strings, IPs as the integration's privacy shows them.

    A rejected lead's payout is 0: what it would pay is in `verdict_details.withheld_payout`.
    """

    goal_code = serializers.CharField(source="goal.code", read_only=True, default=None)
    # From the lead's copy of its click: the click's row may be gone (retention).
    click_id = serializers.CharField(source="click_seen.click_id", read_only=True, default=None)
    payout_display = serializers.SerializerMethodField(help_text='The payout as people read it: "$3.60".')
    revenue_display = serializers.SerializerMethodField(help_text='The revenue as people read it: "€12.00".')

    class Meta:
        model = Lead
        fields = [
            "id",
            "app",
            "integration",
            "partner",
            "offer",
            "link",
            "click_id",
            "goal",
            "goal_code",
            "exto",
            "status",
            "payout",
            "revenue",
            "currency",
            "payout_display",
            "revenue_display",
            "base_currency",
            "fx_rate",
            "fx_date",
            "payout_base",
            "revenue_base",
            "payout_set_by_postback",
            "revenue_set_by_postback",
            "source",
            "country",
            "asn",
            "as_org",
            "verdict",
            "verdict_reason",
            "verdict_rule",
            "verdict_details",
            "third_party_status",
            "third_party_rejected_reason",
            "params",
            "created_at",
            "updated_at",
            "status_changed_at",
        ]
        read_only_fields = fields

    def get_payout_display(self, lead: Lead) -> str:
        return format_money(lead.payout, lead.currency)

    def get_revenue_display(self, lead: Lead) -> str:
        return format_money(lead.revenue, lead.currency)


class LeadDetailSerializer(LeadSerializer):
    """A lead with its history."""

    events = LeadEventSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "events"]
        read_only_fields = fields


class LeadStatusSerializer(serializers.Serializer):
    """The body of `set_status`: one of the six statuses."""

    status = serializers.ChoiceField(choices=LeadStatus.choices)


class LeadGoalSerializer(serializers.Serializer):
    """The body of `set_goal`: the id of another goal of the lead's offer."""

    goal = serializers.IntegerField()


class LeadBulkStatusSerializer(LeadStatusSerializer):
    """The body of `bulk_set_status`: lead ids (of your organization) and the status."""

    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=1000)


class LeadVerdictSerializer(serializers.Serializer):
    """The body of `set_verdict`: a manager's override of the screening verdict, and why."""

    verdict = serializers.ChoiceField(choices=Verdict.choices)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ScreeningReportRowSerializer(serializers.Serializer):
    """One row of the screening report: screened clicks and leads of one partner, offer, source, reason."""

    partner = serializers.CharField()
    offer = serializers.CharField()
    source = serializers.CharField()
    reason = serializers.CharField()
    clicks_flagged = serializers.IntegerField()
    clicks_rejected = serializers.IntegerField()
    leads_flagged = serializers.IntegerField()
    leads_rejected = serializers.IntegerField()

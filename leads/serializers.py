"""Representations of clicks and leads for the management API."""

from __future__ import annotations

from rest_framework import serializers

from leads.models import Click, Lead, LeadEvent, LeadStatus


class ClickSerializer(serializers.ModelSerializer):
    """A click as the API lists it (read-only)."""

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
            "language",
            "referer",
            "params",
            "verdict",
            "verdict_reason",
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


class LeadSerializer(serializers.ModelSerializer):
    """A lead as the API lists it; money as decimal strings."""

    goal_code = serializers.CharField(source="goal.code", read_only=True, default=None)
    click_id = serializers.CharField(source="click.click_id", read_only=True, default=None)

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
            "payout_set_by_postback",
            "revenue_set_by_postback",
            "verdict",
            "verdict_reason",
            "third_party_status",
            "third_party_rejected_reason",
            "params",
            "created_at",
            "updated_at",
            "status_changed_at",
        ]
        read_only_fields = fields


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

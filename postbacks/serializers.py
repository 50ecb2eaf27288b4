"""Serializers of the outbox: deliveries with their attempts, and CleverTap destinations.

URLs are shown masked (secrets as `***`); a CleverTap passcode is write-only, its project token
masked for analysts.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from partners.selectors import apps_for
from partners.serializers import MaskedSecretsForViewers, OrganizationRelatedField
from postbacks.clevertap import DEFAULT_REGION, REGION_CHOICES
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.services import IN_DOUBT_EXPLANATION, CleverTapSettings, clevertap_destination_save

SETTINGS_FIELDS = tuple(field.name for field in fields(CleverTapSettings))


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    """One HTTP attempt: the URL called (masked), the answer's status and start, the time taken.

    `outcome` is `sending` while the call is under way and `in_doubt` when the worker stopped
    during it (`explanation` says what that means for the receiver)."""

    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    explanation = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "url_masked",
            "status_code",
            "duration_ms",
            "response_start",
            "error",
            "outcome",
            "outcome_label",
            "explanation",
        ]
        read_only_fields = fields

    def get_explanation(self, attempt: DeliveryAttempt) -> str:
        return IN_DOUBT_EXPLANATION if attempt.outcome == DeliveryAttempt.Outcome.IN_DOUBT else ""


class DeliverySerializer(serializers.ModelSerializer):
    """One outbound call and where it stands; `url` is masked. Delivery is at least once: every
    call carries `idempotency_key` (Idempotency-Key and webhook-id headers), so a receiver can
    drop a repeat."""

    url = serializers.CharField(source="url_masked", read_only=True)
    idempotency_key = serializers.CharField(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "kind",
            "event",
            "state",
            "url",
            "idempotency_key",
            "lead",
            "integration",
            "partner",
            "app",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with every attempt, oldest first."""

    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempts"]
        read_only_fields = fields


class CleverTapDestinationSerializer(MaskedSecretsForViewers, serializers.ModelSerializer):
    """An app's CleverTap project; the passcode is accepted, stored encrypted and never answered;
    the project token is masked for analysts."""

    masked_secret_fields = ("account_token",)

    app = OrganizationRelatedField(selector=apps_for)
    passcode = serializers.CharField(
        write_only=True, required=False, help_text="Stored encrypted; leave out to keep the current one."
    )
    passcode_set = serializers.SerializerMethodField()
    region = serializers.ChoiceField(choices=REGION_CHOICES, default=DEFAULT_REGION)

    class Meta:
        model = CleverTapDestination
        fields = [
            "id",
            "app",
            "account_id",
            "account_token",
            "passcode",
            "passcode_set",
            "region",
            "partner_name",
            "send_inorganic_installs",
            "send_organic_installs",
            "send_custom_events",
            "utm_source_template",
            "utm_medium_template",
            "utm_campaign_template",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list[Any] = []

    def get_passcode_set(self, destination: CleverTapDestination) -> bool:
        return bool(destination.passcode_encrypted)

    def validate_app(self, app: Any) -> Any:
        taken = CleverTapDestination.objects.filter(app=app)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(
                "This app has a CleverTap destination already: change that one."
            )
        return app

    def _save(
        self, validated: dict[str, Any], destination: CleverTapDestination | None
    ) -> CleverTapDestination:
        changes = {name: value for name, value in validated.items() if name != "app"}
        if destination is None:
            values = CleverTapSettings(**{"passcode": None, **changes})
        else:
            kept = {name: getattr(destination, name) for name in SETTINGS_FIELDS if name != "passcode"}
            values = CleverTapSettings(**{**kept, "passcode": None, **changes})
        app = validated.get("app") or destination.app  # type: ignore[union-attr]
        try:
            return clevertap_destination_save(app=app, values=values, destination=destination)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None

    def create(self, validated_data: dict[str, Any]) -> CleverTapDestination:
        return self._save(validated_data, None)

    def update(self, instance: CleverTapDestination, validated_data: dict[str, Any]) -> CleverTapDestination:
        return self._save(validated_data, instance)

"""Writes of the ingest app: replays of logged requests."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from config.i18n import admin_text
from ingest import traffic_api
from ingest.log import Arrival
from ingest.models import InboundPostback
from ingest.protocol import Scope, postback_process

REPLAYABLE = (InboundPostback.Outcome.REJECTED, InboundPostback.Outcome.FAILED)


class ReplayRefused(ValueError):
    """This inbound postback cannot be replayed; the message says why."""


@transaction.atomic
def inbound_replay(*, inbound: InboundPostback, actor: Any) -> InboundPostback:
    """Run a rejected or failed request again, as if it arrived now, and log the new outcome.

    The original is claimed by a conditional UPDATE, so two admins clicking at once replay
    it once. Raises ReplayRefused for anything but a rejected or failed (on our side), not
    yet replayed request that matched an app. `actor` is the user who asked, kept on the
    lead's events.
    """
    if inbound.outcome not in REPLAYABLE:
        raise ReplayRefused(
            admin_text("Only rejected or failed requests can be replayed; this one was %(outcome)s.")
            % {"outcome": inbound.get_outcome_display().lower()}
        )
    if inbound.app_id is None:
        raise ReplayRefused(
            str(admin_text("This postback matched no app (wrong or missing token): ask for a resend."))
        )
    claimed = InboundPostback.objects.filter(
        pk=inbound.pk, outcome__in=REPLAYABLE, replayed_at__isnull=True
    ).update(replayed_at=timezone.now())
    if not claimed:
        raise ReplayRefused(
            str(admin_text("This postback was already replayed: replay its latest replay instead."))
        )
    if inbound.endpoint in (InboundPostback.Endpoint.CLICK, InboundPostback.Endpoint.IMPRESSION):
        return traffic_api.replay(inbound)
    scope = Scope(app=inbound.app, integration=inbound.integration)
    result = postback_process(
        scope=scope, arrival=Arrival.from_inbound(inbound), replay_of=inbound, actor=actor
    )
    return result.inbound

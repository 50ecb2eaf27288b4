"""Auto-pause: a destination whose deliveries fail for good N times in a row waits until resumed.

A destination is where deliveries go: a partner postback template, a partner's publisher
postback, an integration's status sync or an app's CleverTap destination. Each delivery names
it in `destination_key` ("template:12", "publisher:5", "status_sync:7", "clevertap:3"), set when
it is planned (leads.outbound); test sends carry none, so they never count.

- **Pausing** (`destinations_check_failures`, called once a round's final failures are
  recorded): when a destination's latest `POSTBACK_PAUSE_AFTER_FAILURES` final outcomes (done or
  failed) all failed, the oldest within `POSTBACK_PAUSE_WINDOW_HOURS`, its row gets `paused_at`
  and the last error by a conditional UPDATE (`… WHERE paused_at IS NULL`: of two workers
  checking at once one pauses, and one email goes). Its pending deliveries become `paused`, the
  ones planned later are written `paused` (leads.outbound), and neither is sent: the sweep and
  the workers only take pending rows. The organization's admins and managers get an email.
- **Resuming** (`destination_resume`, from the integration page, the API or the publisher's
  Postback tab): clears the pause, sends what waited and re-sends what failed for good since
  the streak began, each keeping its attempts.

The pause marks are written with UPDATE, which sends no signal, so the row's `post_save` is
sent explicitly: leads.linkcache's receivers then drop the cached outbound configuration
(this app cannot import leads). A delivery in the middle of its attempt when the destination
is paused finishes its own retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model, Q
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import EDITOR_ROLES
from audit.tracking import update_recorded
from config.i18n import admin_text
from partners.models import Integration, Partner, PostbackTemplate
from postbacks.models import CleverTapDestination, Delivery
from postbacks.wakeups import BROKER, BROKER_LEASE, broker_usable, wake_after_commit

logger = logging.getLogger(__name__)

State = Delivery.State
FINAL_STATES = (State.DONE, State.FAILED)

TEMPLATE = "template"
PUBLISHER = "publisher"
STATUS_SYNC = "status_sync"
CLEVERTAP = "clevertap"


@dataclass(frozen=True)
class PauseFields:
    """Where a kind of destination keeps its pause: the model and its two fields."""

    model: type[Model]
    paused_at: str
    reason: str
    organization: str


PAUSE_FIELDS: dict[str, PauseFields] = {
    TEMPLATE: PauseFields(PostbackTemplate, "paused_at", "pause_reason", "integration__organization_id"),
    PUBLISHER: PauseFields(
        Partner, "publisher_postback_paused_at", "publisher_postback_pause_reason", "organization_id"
    ),
    STATUS_SYNC: PauseFields(
        Integration, "status_sync_paused_at", "status_sync_pause_reason", "organization_id"
    ),
    CLEVERTAP: PauseFields(CleverTapDestination, "paused_at", "pause_reason", "organization_id"),
}
# What each kind's row needs for its label and its integration page, in the same query.
_RELATED = {
    TEMPLATE: ("integration__partner", "integration__app", "goal"),
    PUBLISHER: (),
    STATUS_SYNC: ("partner", "app"),
    CLEVERTAP: ("app",),
}


class ResumeRefused(ValueError):
    """A destination that cannot be resumed; the message says why."""


def destination_key(kind: str, pk: int) -> str:
    """The `destination_key` of a delivery to this destination, e.g. "template:12"."""
    return f"{kind}:{pk}"


def _parse(key: str) -> tuple[str, int] | None:
    kind, _, pk = key.partition(":")
    if kind not in PAUSE_FIELDS or not pk.isdigit():
        return None
    return kind, int(pk)


@dataclass(frozen=True)
class Destination:
    """One destination as people see it: its key, the row keeping its pause, a label."""

    key: str
    row: Any

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def pause_fields(self) -> PauseFields:
        return PAUSE_FIELDS[self.kind]

    @property
    def paused_at(self) -> datetime | None:
        return getattr(self.row, self.pause_fields.paused_at)

    @property
    def pause_reason(self) -> str:
        return getattr(self.row, self.pause_fields.reason)

    @property
    def label(self) -> str:
        row = self.row
        if self.kind == TEMPLATE:
            goal = row.goal.code if row.goal_id else "install"
            event = row.get_event_display().lower()
            return admin_text("Partner postback to %(partner)s (%(goal)s, %(event)s)") % {
                "partner": row.integration.partner.name,
                "goal": goal,
                "event": event,
            }
        if self.kind == PUBLISHER:
            # The publisher reads this one on its Postback tab, so in its language.
            return _("Publisher postback of %(name)s") % {"name": row.name}
        if self.kind == STATUS_SYNC:
            return admin_text("Status sync of %(integration)s") % {"integration": row}
        return admin_text("CleverTap destination of %(app)s") % {"app": row.app.name}


def destination_load(key: str, *, organization_id: int) -> Destination | None:
    """The organization's destination under this key, or None (unknown, or another organization's)."""
    parsed = _parse(key)
    if parsed is None:
        return None
    kind, pk = parsed
    fields = PAUSE_FIELDS[kind]
    row = (
        fields.model._default_manager.select_related(*_RELATED[kind])
        .filter(pk=pk, **{fields.organization: organization_id})
        .first()
    )
    return Destination(destination_key(kind, pk), row) if row is not None else None


def integration_destinations(integration: Integration) -> list[Destination]:
    """Every destination the integration's leads send to: its templates, its status sync, its
    partner's publisher postback and its app's CleverTap destination (those that exist)."""
    templates = integration.postback_templates.select_related(*_RELATED[TEMPLATE]).order_by("id")
    found = [Destination(destination_key(TEMPLATE, t.pk), t) for t in templates]
    if integration.status_sync_url or integration.status_sync_paused_at:
        found.append(Destination(destination_key(STATUS_SYNC, integration.pk), integration))
    partner = integration.partner
    if partner.publisher_postback_url or partner.publisher_postback_paused_at:
        found.append(Destination(destination_key(PUBLISHER, partner.pk), partner))
    clevertap = CleverTapDestination.objects.select_related("app").filter(app_id=integration.app_id).first()
    if clevertap is not None:
        found.append(Destination(destination_key(CLEVERTAP, clevertap.pk), clevertap))
    return found


def paused_destinations(integration: Integration) -> list[Destination]:
    """The integration's paused destinations (its page's banners)."""
    return [destination for destination in integration_destinations(integration) if destination.paused_at]


def publisher_destination(partner: Partner) -> Destination:
    """The partner's own publisher postback (its portal's Postback tab)."""
    return Destination(destination_key(PUBLISHER, partner.pk), partner)


# --- Pausing ----------------------------------------------------------------------------------


def destinations_check_failures(delivery_ids: list[int]) -> list[str]:
    """Pause the destinations of these deliveries that have just failed too often in a row.

    Call it after final failures are recorded (any ids may be given: only failed deliveries
    with a destination are looked at). Answers the keys of the destinations paused now.
    """
    limit = settings.POSTBACK_PAUSE_AFTER_FAILURES
    if limit <= 0 or not delivery_ids:
        return []
    keys = (
        Delivery.objects.filter(pk__in=delivery_ids, state=State.FAILED)
        .exclude(destination_key="")
        .values_list("destination_key", flat=True)
        .distinct()
    )
    paused = []
    for key in sorted(set(keys)):
        streak = _failing_streak(key, limit)
        if streak is not None and _pause(key, last=streak[0]):
            paused.append(key)
    return paused


def _latest_final(key: str, limit: int, *, until: datetime | None = None) -> list[Delivery]:
    """The destination's latest final outcomes, newest first (index delivery_destination_final)."""
    rows = Delivery.objects.filter(destination_key=key, state__in=FINAL_STATES).exclude(
        kind=Delivery.Kind.TEST
    )
    if until is not None:
        rows = rows.filter(updated_at__lte=until)
    fields = ("id", "state", "updated_at", "last_error", "last_status_code", "integration_id")
    return list(rows.order_by("-updated_at").only(*fields)[:limit])


def _failing_streak(key: str, limit: int) -> list[Delivery] | None:
    """The latest `limit` final deliveries when all failed within the window, else None."""
    latest = _latest_final(key, limit)
    since = timezone.now() - timedelta(hours=settings.POSTBACK_PAUSE_WINDOW_HOURS)
    if (
        len(latest) < limit
        or any(row.state != State.FAILED for row in latest)
        or latest[-1].updated_at < since
    ):
        return None
    return latest


def _reason(last: Delivery) -> str:
    if last.last_error:
        return last.last_error
    if last.last_status_code:
        return f"The receiver answered {last.last_status_code}."
    return "The call failed without an answer."


@transaction.atomic
def _pause(key: str, *, last: Delivery) -> bool:
    """Pause the destination unless someone did already; True when this call paused it."""
    kind, pk = _parse(key)  # type: ignore[misc]
    fields = PAUSE_FIELDS[kind]
    now = timezone.now()
    won = update_recorded(
        fields.model._default_manager.filter(pk=pk, **{f"{fields.paused_at}__isnull": True}),
        **{fields.paused_at: now, fields.reason: _reason(last)},
    )
    if not won:
        return False
    Delivery.objects.filter(destination_key=key, state=State.PENDING).update(
        state=State.PAUSED, next_attempt_at=None, claimed_by="", claimed_until=None, updated_at=now
    )
    destination = Destination(key, fields.model._default_manager.select_related(*_RELATED[kind]).get(pk=pk))
    _announce(destination)
    transaction.on_commit(partial(_email_editors, destination, integration_id=last.integration_id))
    return True


def _announce(destination: Destination) -> None:
    """Tell the row's save receivers it changed (an UPDATE sends no signal): caches forget it."""
    fields = destination.pause_fields
    post_save.send(
        sender=fields.model,
        instance=destination.row,
        created=False,
        update_fields=frozenset({fields.paused_at, fields.reason}),
        raw=False,
        using="default",
    )


def _integration_page(destination: Destination, integration_id: int | None) -> str:
    if destination.kind == TEMPLATE:
        integration_id = destination.row.integration_id
    elif destination.kind == STATUS_SYNC:
        integration_id = destination.row.pk
    if integration_id is None:
        return f"{settings.PUBLIC_BASE_URL}{reverse('admin:partners_integration_changelist')}"
    return f"{settings.PUBLIC_BASE_URL}{reverse('admin:partners_integration_change', args=[integration_id])}"


def _editor_emails(organization_id: int) -> list[str]:
    users = get_user_model()._default_manager.filter(
        is_active=True, membership__organization_id=organization_id, membership__role__in=EDITOR_ROLES
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def _organization_id(destination: Destination) -> int:
    row = destination.row
    return row.integration.organization_id if destination.kind == TEMPLATE else row.organization_id


def _email_editors(destination: Destination, *, integration_id: int | None) -> None:
    """Tell the organization's admins and managers; a mail server that fails costs only the email."""
    recipients = _editor_emails(_organization_id(destination))
    if not recipients:
        return
    failures = settings.POSTBACK_PAUSE_AFTER_FAILURES
    page = _integration_page(destination, integration_id)
    since = timezone.localtime(destination.paused_at).strftime("%Y-%m-%d %H:%M %Z")
    body = admin_text(
        "%(destination)s is paused since %(since)s, after %(failures)d deliveries in a row failed "
        "for good. The last one failed with: %(reason)s\n\n"
        "New deliveries to it wait and nothing is sent to it until it is resumed. Fix the receiving "
        'end, then press "Resume and re-send" on the integration page: what waited is sent and what '
        "failed since the failures began is sent again.\n\n%(page)s\n"
    ) % {
        "destination": destination.label,
        "since": since,
        "failures": failures,
        "reason": destination.pause_reason,
        "page": page,
    }
    subject = admin_text("Paused: %(destination)s") % {"destination": destination.label}
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # the pause stands and the banner shows it: the email is a courtesy
        logger.exception("The email about the paused %s could not be sent.", destination.key)


# --- Resuming ---------------------------------------------------------------------------------


def _streak_start(key: str, paused_at: datetime) -> datetime:
    """When the failures that paused the destination began: the oldest of its last N final
    outcomes up to the pause (the window's start when pausing has been switched off since)."""
    limit = settings.POSTBACK_PAUSE_AFTER_FAILURES
    window_start = paused_at - timedelta(hours=settings.POSTBACK_PAUSE_WINDOW_HOURS)
    streak = _latest_final(key, limit, until=paused_at) if limit > 0 else []
    return streak[-1].updated_at if streak else window_start


@transaction.atomic
def destination_resume(*, destination: Destination) -> int:
    """Resume a paused destination: what waited is sent, and what failed for good since the
    failures began is sent again (keeping its attempts). Answers how many deliveries go out.

    Raises ResumeRefused when it is not paused (say, resumed by someone else a moment ago).
    """
    kind, pk = _parse(destination.key)  # type: ignore[misc]
    fields = PAUSE_FIELDS[kind]
    locked = fields.model._default_manager.select_for_update().filter(pk=pk).order_by()
    paused_at = locked.values_list(fields.paused_at, flat=True).first()
    if paused_at is None:
        raise ResumeRefused(
            _("%(destination)s is not paused: there is nothing to resume.")
            % {"destination": destination.label}
        )
    update_recorded(
        fields.model._default_manager.filter(pk=pk), **{fields.paused_at: None, fields.reason: ""}
    )
    setattr(destination.row, fields.paused_at, None)
    setattr(destination.row, fields.reason, "")
    start = _streak_start(destination.key, paused_at)
    again = Delivery.objects.filter(destination_key=destination.key).filter(
        Q(state=State.PAUSED) | Q(state=State.FAILED, updated_at__gte=start)
    )
    ids = list(again.exclude(kind=Delivery.Kind.TEST).values_list("pk", flat=True))
    _send_again(ids)
    _announce(destination)
    return len(ids)


def _send_again(ids: list[int]) -> None:
    """Make these deliveries due now; the workers are woken after commit (the sweep, else)."""
    now = timezone.now()
    lease = {"claimed_by": BROKER, "claimed_until": now + BROKER_LEASE} if broker_usable() else {}
    Delivery.objects.filter(pk__in=ids).update(
        state=State.PENDING,
        next_attempt_at=now,
        **{"claimed_by": "", "claimed_until": None, **lease},
    )
    if lease:
        wake_after_commit(ids)


def resumed_message(count: int) -> str:
    """What a person is told after resuming."""
    return ngettext(
        "Resumed: %(count)d delivery will be sent again.",
        "Resumed: %(count)d deliveries will be sent again.",
        count,
    ) % {"count": count}

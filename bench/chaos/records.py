"""The chaos run's data: its seed, what the database holds per key, and replays by the API.

Imported after `django.setup()`. The inbound log is read by its table, as an outside checker
would, so the check does not lean on the code it checks.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import requests
from django.db import connection
from django.db.models import Count
from rest_framework.authtoken.models import Token

from accounts.models import Role
from accounts.services import membership_create
from bench.chaos.load import REQUEST_TIMEOUT
from bench.chaos.verdict import REPLAYABLE_OUTCOMES
from bench.fixture import create_fixture
from leads.models import Lead
from partners.models import PostbackTemplate, TrackingLink
from postbacks.models import Delivery, DeliveryAttempt

INBOUND_TABLE = "postbacks_inboundpostback"


@dataclass(frozen=True)
class Seed:
    """What the run sends with: the app's token, the link (`flow`), an admin's API token."""

    run_id: str
    app_token: str
    link_id: int
    admin_token: str


def seed(*, postback_url: str) -> Seed:
    """The benchmark's fixture (organization, app, offer with goals, partner, integration, link),
    the partner's postback to `postback_url` (each new lead is a delivery), and an admin login
    with an API token, for replays through the management API."""
    fixture = create_fixture()
    link = TrackingLink.objects.get(code=fixture.link_code)
    PostbackTemplate.objects.create(integration=link.integration, url=f"{postback_url}/pb?exto={{exto}}")
    membership = membership_create(
        organization=link.organization,
        username=f"chaos-{fixture.run_id}",
        email="chaos@example.com",
        password=secrets.token_urlsafe(16),
        role=Role.ADMIN,
    )
    token = Token.objects.create(user=membership.user)
    return Seed(run_id=fixture.run_id, app_token=fixture.app_token, link_id=link.pk, admin_token=token.key)


def leads_per_key(*, link_id: int, prefix: str) -> dict[str, int]:
    """How many leads each of the run's keys has on the link."""
    rows = (
        Lead.objects.filter(link_id=link_id, exto__startswith=f"{prefix}-")
        .values_list("exto")
        .annotate(count=Count("id"))
    )
    return dict(rows)


def replayable_per_key(*, prefix: str) -> dict[str, tuple[int, str]]:
    """Each key's first original (not a replay) lead log row that awaits replay: its id and outcome."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT ON (params->>'exto') params->>'exto', id, outcome
            FROM {INBOUND_TABLE}
            WHERE endpoint = 'lead' AND replay_of_id IS NULL AND outcome = ANY(%s)
              AND params->>'exto' LIKE %s
            ORDER BY params->>'exto', id
            """,
            [sorted(REPLAYABLE_OUTCOMES), f"{prefix}-%"],
        )
        return {exto: (row_id, outcome) for exto, row_id, outcome in cursor.fetchall()}


def replay_all(base_url: str, admin_token: str, rows: dict[str, int], deadline: float) -> dict[str, str]:
    """Replay each key's log row through the management API, until `deadline` (monotonic).

    Answers, per key, "" when the replay ended in a lead, else what went wrong.
    """
    results: dict[str, str] = {}
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {admin_token}"
        for exto, row_id in rows.items():
            if time.monotonic() > deadline:
                results[exto] = "no time left to replay it"
                continue
            results[exto] = _replay(session, base_url, row_id)
    return results


def _replay(session: requests.Session, base_url: str, row_id: int) -> str:
    url = f"{base_url}/api/v1/postbacks/{row_id}/replay/"
    try:
        response = session.post(url, timeout=REQUEST_TIMEOUT)
    except requests.RequestException as exc:
        return f"replay request failed: {type(exc).__name__}"
    if response.status_code != 201:
        return f"replay answered HTTP {response.status_code}: {response.text[:200]}"
    replay = response.json()
    if replay.get("lead") is None:
        return f"replay ended {replay.get('outcome')}: {replay.get('reason')}"
    return ""


def _run_deliveries(*, link_id: int, prefix: str):
    return Delivery.objects.filter(lead__link_id=link_id, lead__exto__startswith=f"{prefix}-")


def delivery_states(*, link_id: int, prefix: str) -> dict[str, str]:
    """Each of the run's deliveries by its idempotency key: its state."""
    rows = _run_deliveries(link_id=link_id, prefix=prefix).values_list("message_id", "state")
    return dict(rows)


def outstanding_deliveries(*, link_id: int, prefix: str) -> list[str]:
    """The keys of the run's deliveries not sent for good yet (pending, or held by a worker)."""
    rows = _run_deliveries(link_id=link_id, prefix=prefix).filter(
        state__in=[Delivery.State.PENDING, Delivery.State.SENDING]
    )
    return list(rows.values_list("message_id", flat=True))


def in_doubt_attempts(*, link_id: int, prefix: str) -> int:
    """How many of the run's attempts are in doubt (their worker died during the call)."""
    return DeliveryAttempt.objects.filter(
        delivery__in=_run_deliveries(link_id=link_id, prefix=prefix),
        outcome=DeliveryAttempt.Outcome.IN_DOUBT,
    ).count()

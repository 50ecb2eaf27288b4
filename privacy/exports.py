"""A publisher's own data as one ZIP, streamed: "Download my data" in the portal.

Everything the publisher's account holds: its profile and logins, the sign-up, payment method,
payouts, tracking links, postback settings (the signing secret only as set or not), and the
clicks and conversions of its traffic as CSV, as the portal shows them (IPs under the
integration's IP privacy, no device ids or user agents of the visitors). The ZIP is built as
it is sent (`stream_zip`): rows are read in chunks, so a large publisher is never held in memory.
Every query is scoped to the one partner.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from stream_zip import ZIP_64, stream_zip

from accounts.models import Membership
from leads.models import Click
from leads.privacy import display_ip
from partners.models import Partner, TrackingLink
from portal.models import PaymentMethod, Payout, PublisherSignup
from portal.selectors import leads_of

CHUNK = 2000
MODE = 0o600


def _csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    """CSV lines as bytes, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _json(data: Any) -> Iterator[bytes]:
    yield json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()


def _profile(partner: Partner) -> dict[str, Any]:
    users = get_user_model().objects.filter(membership__partner=partner).order_by("pk")
    signup = PublisherSignup.objects.filter(partner=partner).select_related("referrer").first()
    return {
        "publisher": {
            "id": partner.pk,
            "name": partner.name,
            "contact_name": partner.contact_name,
            "contact_email": partner.contact_email,
            "website": partner.website,
            "payout_currency": partner.payout_currency,
            "created_at": partner.created_at,
        },
        "logins": [
            {
                "username": u.username,
                "email": u.email,
                "date_joined": u.date_joined,
                "last_login": u.last_login,
            }
            for u in users
        ],
        "signup": signup
        and {
            "status": signup.status,
            "website": signup.website,
            "referred_by": signup.referrer.name if signup.referrer_id else "",
            "created_at": signup.created_at,
        },
    }


def _memberships(partner: Partner) -> Iterator[bytes]:
    rows = Membership.objects.filter(partner=partner).select_related("user", "organization").order_by("pk")
    return _csv(
        ("login", "organization", "role", "since"),
        ((m.user.username, m.organization.name, m.role, m.created_at.isoformat()) for m in rows),
    )


def _payment_method(partner: Partner) -> dict[str, Any] | None:
    method = PaymentMethod.objects.filter(partner=partner).first()
    if method is None:
        return None
    return {"kind": method.kind, **{name: getattr(method, name) for name in method.DETAILS[method.kind]}}


def _payouts(partner: Partner) -> Iterator[bytes]:
    rows = Payout.objects.filter(partner=partner).order_by("requested_at", "id")
    return _csv(
        ("id", "amount", "currency", "status", "method", "requested_at", "paid_at", "reference"),
        (
            (p.pk, p.amount, p.currency, p.status, p.method, p.requested_at, p.paid_at or "", p.reference)
            for p in rows.iterator(chunk_size=CHUNK)
        ),
    )


def _links(partner: Partner) -> Iterator[bytes]:
    rows = TrackingLink.objects.filter(partner=partner).select_related("offer").order_by("id")
    return _csv(
        ("id", "code", "campaign", "status", "sub1", "sub2", "sub3", "sub4", "sub5", "created_at"),
        (
            (k.pk, k.code, k.offer.name, k.status, k.sub1, k.sub2, k.sub3, k.sub4, k.sub5, k.created_at)
            for k in rows.iterator(chunk_size=CHUNK)
        ),
    )


def _clicks(partner: Partner) -> Iterator[bytes]:
    rows = (
        Click.objects.filter(partner=partner, organization_id=partner.organization_id)
        .select_related("offer", "integration", "link")
        .order_by("id")
    )
    header = (
        "click_id",
        "time",
        "campaign",
        "link",
        "sub1",
        "sub2",
        "sub3",
        "sub4",
        "sub5",
        "country",
        "device_type",
        "os",
        "browser",
        "ip",
        "verdict",
        "redirect_reason",
    )
    return _csv(
        header,
        (
            (
                c.click_id,
                c.created_at.isoformat(),
                c.offer.name,
                c.link.code,
                c.sub1,
                c.sub2,
                c.sub3,
                c.sub4,
                c.sub5,
                c.country,
                c.device_type,
                c.os,
                c.browser,
                display_ip(c.ip, c.integration.ip_privacy),
                c.verdict,
                c.redirect_reason,
            )
            for c in rows.iterator(chunk_size=CHUNK)
        ),
    )


def _leads(partner: Partner) -> Iterator[bytes]:
    header = ("id", "time", "campaign", "goal", "click_id", "status", "payout", "currency", "country", "ip")
    return _csv(
        header,
        (
            (
                lead.pk,
                lead.created_at.isoformat(),
                lead.offer.name,
                lead.goal.code if lead.goal_id else "",
                getattr(lead.click_seen, "click_id", ""),
                lead.status,
                lead.payout,
                lead.currency,
                lead.country,
                display_ip(getattr(lead.click_seen, "ip", ""), lead.integration.ip_privacy),
            )
            for lead in leads_of(partner).iterator(chunk_size=CHUNK)
        ),
    )


def _postback(partner: Partner) -> dict[str, Any]:
    return {
        "url": partner.publisher_postback_url,
        "signed": bool(partner.publisher_postback_secret_encrypted),
        "paused_at": partner.publisher_postback_paused_at,
        "pause_reason": partner.publisher_postback_pause_reason,
    }


def publisher_data_zip(*, partner: Partner) -> Iterator[bytes]:
    """The ZIP's bytes, as they are made."""
    now: datetime = timezone.now()

    def member(name: str, chunks: Iterable[bytes]) -> tuple[str, datetime, int, Any, Iterable[bytes]]:
        return (name, now, MODE, ZIP_64, chunks)

    return stream_zip(
        [
            member("profile.json", _json(_profile(partner))),
            member("memberships.csv", _memberships(partner)),
            member("payment_method.json", _json(_payment_method(partner))),
            member("payouts.csv", _payouts(partner)),
            member("links.csv", _links(partner)),
            member("postback.json", _json(_postback(partner))),
            member("clicks.csv", _clicks(partner)),
            member("leads.csv", _leads(partner)),
        ]
    )

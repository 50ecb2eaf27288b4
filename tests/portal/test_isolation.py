"""Publisher A never sees publisher B: every portal URL is requested as A for B's objects.

The table below names every URL pattern of the portal; a new pattern without an entry here
fails `test_every_portal_url_is_covered`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from partners.models import Creative
from portal import urls as portal_urls

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Probe:
    """How to ask for B's data as A: method, URL, and what A must get back."""

    url: Callable
    method: str = "get"
    expect_404: bool = False
    data: dict | None = None


def _b_private_offer(world):
    return world.offers[2].pk


def _b_secret_creative(world):
    return Creative.objects.get(offer=world.offers[2]).pk


PROBES: dict[str, Probe] = {
    "login": Probe(lambda w: reverse("portal:login")),
    "logout": Probe(lambda w: reverse("portal:logout")),
    "language": Probe(lambda w: reverse("portal:language"), method="post", data={"language": "es"}),
    "signup": Probe(lambda w: reverse("portal:signup") + "?ref=999-forged"),
    "signup_done": Probe(lambda w: reverse("portal:signup_done")),
    "password_reset": Probe(lambda w: reverse("portal:password_reset")),
    "password_reset_done": Probe(lambda w: reverse("portal:password_reset_done")),
    "password_reset_confirm": Probe(
        lambda w: reverse(
            "portal:password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(w.b.user.pk)),
                "token": default_token_generator.make_token(w.a.user),
            },
        )
    ),
    "password_reset_complete": Probe(lambda w: reverse("portal:password_reset_complete")),
    "dashboard": Probe(lambda w: reverse("portal:dashboard") + "?period=30d"),
    "campaigns": Probe(lambda w: reverse("portal:campaigns")),
    "campaign": Probe(lambda w: reverse("portal:campaign", args=[_b_private_offer(w)]), expect_404=True),
    "campaign_request": Probe(
        lambda w: reverse("portal:campaign_request", args=[_b_private_offer(w)]),
        method="post",
        expect_404=True,
    ),
    "creative": Probe(lambda w: reverse("portal:creative", args=[_b_secret_creative(w)]), expect_404=True),
    "report": Probe(lambda w: reverse("portal:report") + "?period=30d&group_by=campaign"),
    "report_export": Probe(
        lambda w: reverse("portal:report_export", args=["csv"]) + "?period=30d&group_by=campaign"
    ),
    "payments": Probe(lambda w: reverse("portal:payments")),
    "payment_method": Probe(lambda w: reverse("portal:payment_method")),
    "payout_request": Probe(
        lambda w: reverse("portal:payout_request"), method="post", data={"amount": "11.00"}
    ),
    "statement": Probe(
        lambda w: reverse("portal:statement", args=[w.b.partner.payouts.get().pk]), expect_404=True
    ),
    "conversions": Probe(lambda w: reverse("portal:conversions")),
    "conversions_export": Probe(lambda w: reverse("portal:conversions_export", args=["csv"])),
    "postback": Probe(lambda w: reverse("portal:postback")),
    "postback_preview": Probe(
        lambda w: reverse("portal:postback_preview") + "?url=https://b.example/{ref_id}"
    ),
    "postback_test": Probe(lambda w: reverse("portal:postback_test"), method="post"),
    "postback_secret": Probe(
        lambda w: reverse("portal:postback_secret"), method="post", data={"signing": "generate"}
    ),
    "postback_resume": Probe(lambda w: reverse("portal:postback_resume"), method="post"),
    "profile": Probe(lambda w: reverse("portal:profile")),
    "data_download": Probe(lambda w: reverse("portal:data_download")),
    "referrals": Probe(lambda w: reverse("portal:referrals")),
}


def _b_markers(world) -> list[str]:
    """Text that only B's rows carry: its name, its private campaign, its ref ids, its payment details."""
    refs = [c.ref_id for c in world.b.clicks[:20]]
    return ["Beta Ads", "Secret Deal", "beta-pay@example.com", "12.34", *refs]


def test_every_portal_url_is_covered():
    names = {pattern.name for pattern in portal_urls.urlpatterns}
    assert names == set(PROBES)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_publisher_a_never_gets_publisher_bs_rows(world, client_a, name):
    probe = PROBES[name]
    kwargs = {"data": probe.data} if probe.data else {}
    response = getattr(client_a, probe.method)(probe.url(world), **kwargs)
    if probe.expect_404:
        assert response.status_code == 404
        return
    assert response.status_code in (200, 302)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type") == "application/zip":  # the data download: its files, unpacked
        archive = zipfile.ZipFile(io.BytesIO(body))
        body = b"".join(archive.read(name) for name in archive.namelist())
    text = body.decode("utf-8", "replace")
    for marker in _b_markers(world):
        assert marker not in text, f"{name} shows B's {marker!r}"


def test_the_same_private_campaign_opens_for_its_own_publisher(world, client_b):
    assert client_b.get(reverse("portal:campaign", args=[_b_private_offer(world)])).status_code == 200
    assert client_b.get(reverse("portal:creative", args=[_b_secret_creative(world)])).status_code == 200


def test_conversion_log_export_holds_only_the_publishers_own_leads(world, client_a):
    response = client_a.get(reverse("portal:conversions_export", args=["csv"]))
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert len(lines) - 1 == len(world.a.leads)

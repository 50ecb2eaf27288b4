"""A publisher downloads everything its account holds, and nothing of another publisher's."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Click, Lead

pytestmark = pytest.mark.django_db


def _download(user) -> zipfile.ZipFile:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("portal:data_download"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _rows(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_the_download_holds_the_publishers_own_data(world):
    archive = _download(world.a.user)

    assert set(archive.namelist()) == {
        "profile.json", "memberships.csv", "payment_method.json", "payouts.csv",
        "links.csv", "postback.json", "clicks.csv", "leads.csv",
    }  # fmt: skip
    profile = json.loads(archive.read("profile.json"))
    assert profile["publisher"]["name"] == "Alpha Media"
    assert [login["username"] for login in profile["logins"]] == ["alpha"]
    assert json.loads(archive.read("payment_method.json"))["iban"] == "DE89370400440532013000"
    assert [row["amount"] for row in _rows(archive, "payouts.csv")] == ["12.34"]
    clicks = {row["click_id"] for row in _rows(archive, "clicks.csv")}
    assert clicks == set(Click.objects.filter(partner=world.a.partner).values_list("click_id", flat=True))
    leads = {int(row["id"]) for row in _rows(archive, "leads.csv")}
    assert leads == set(Lead.objects.filter(partner=world.a.partner).values_list("pk", flat=True))
    assert {row["code"] for row in _rows(archive, "links.csv")} == {link.code for link in world.a.links}


def test_the_download_holds_nothing_of_another_publisher(world):
    archive = _download(world.a.user)

    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert (
        "Beta Ads" not in everything and "beta-pay@example.com" not in everything and "beta" not in everything
    )
    for click_id in Click.objects.filter(partner=world.b.partner).values_list("click_id", flat=True):
        assert click_id not in everything
    for link in world.b.links:
        assert link.code not in everything


def test_staff_and_strangers_get_no_download(world, org_manager):
    assert Client().get(reverse("portal:data_download")).status_code == 302
    staff = Client()
    staff.force_login(org_manager)
    assert staff.get(reverse("portal:data_download"))["Location"] == "/admin/"


def test_the_profile_links_to_the_download(world):
    client = Client()
    client.force_login(world.a.user)

    assert reverse("portal:data_download") in client.get(reverse("portal:profile")).content.decode()

"""Every answer carries the Content-Security-Policy; the portal's pages have no inline script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.reports.builders import make_traffic, make_world

ROOT = Path(__file__).resolve().parents[2]
POLICY_PARTS = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def assert_policy(response) -> None:
    policy = response["Content-Security-Policy"]
    assert all(part in policy for part in POLICY_PARTS), policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def inline_code(page: str) -> list[str]:
    """The page's inline scripts (JSON data blocks are not scripts) and inline styles."""
    scripts = [
        attrs
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        if "src=" not in attrs and 'type="application/json"' not in attrs
    ]
    return scripts + re.findall(r"<style[^>]*>| style=", page)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/admin/login/", "/portal/login/", "/api/docs/", "/no-such-page", "/c/no-such-link"]
)
def test_pages_carry_the_policy_and_need_no_inline_code(client, url):
    response = client.get(url)

    assert_policy(response)
    assert inline_code(response.content.decode()) == []


@pytest.mark.django_db
def test_the_admin_and_the_api_answer_with_the_policy_when_signed_in(client, manager):
    client.force_login(manager)

    assert_policy(client.get("/admin/"))
    api = client.get("/api/v1/apps/")
    assert api.status_code == 200 and api["Content-Type"] == "application/json"
    assert_policy(api)


@pytest.mark.django_db
def test_ingestion_answers_carry_the_policy_too(client):
    response = client.get("/postback/lead?token=nope")

    assert response["Content-Type"] == "application/json"
    assert_policy(response)


@pytest.mark.django_db
def test_the_api_docs_start_swagger_ui_from_a_script_file_of_ours(client, manager):
    client.force_login(manager)
    page = client.get("/api/docs/").content.decode()

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts), scripts
    assert "<style" not in page
    start = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1)
    script = client.get(start.replace("&amp;", "&"))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


@pytest.mark.django_db
def test_the_portals_chart_pages_have_no_inline_script(client, settings):
    settings.ROLLUP_SETTLE_SECONDS = 0
    world = make_world()
    make_traffic(world, clicks=10, leads=3)
    client.force_login(world.a.user)

    for url in ("/portal/", "/portal/report/"):
        page = client.get(url).content.decode()
        assert 'data-chart="' in page
        assert inline_code(page) == [], url


def test_report_only_mode_sends_the_policy_as_a_report_only_header():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(bool(getattr(s, 'CONTENT_SECURITY_POLICY', None)), "
        "bool(getattr(s, 'CONTENT_SECURITY_POLICY_REPORT_ONLY', None)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CSP_REPORT_ONLY": "true"}
    answer = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)

    assert answer.stdout.split() == ["False", "True"], answer.stderr
    assert settings.CONTENT_SECURITY_POLICY  # enforced unless asked otherwise

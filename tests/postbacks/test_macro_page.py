"""The macro reference page in the admin: who sees it, what it lists, the template checker."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Role
from partners.macros import MACROS
from tests.factories import MembershipFactory, PartnerFactory

URL = "/admin/macros/"


@pytest.fixture
def staff_client(client, analyst):
    client.force_login(analyst)
    return client


def test_the_macro_reference_lives_at_admin_macros():
    assert reverse("macro-reference") == URL


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.ANALYST])
def test_every_staff_role_may_read_the_macro_reference(client, organization, role):
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    assert client.get(URL).status_code == 200


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_publisher_login_is_sent_to_the_admin_login(client, organization):
    publisher = MembershipFactory(
        organization=organization,
        role=Role.PUBLISHER,
        partner=PartnerFactory(organization=organization),
        user__is_staff=False,
    ).user
    client.force_login(publisher)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_page_lists_every_macro_with_its_meaning_and_example(staff_client):
    page = staff_client.get(URL).content.decode()
    for macro in MACROS:
        assert f"<code>{{{macro.name}}}</code>" in page
        assert escape(str(macro.meaning)) in page
        assert f"<code>{escape(macro.example)}</code>" in page


def test_the_page_states_the_rules(staff_client):
    response = staff_client.get(URL)
    for rule in (
        "The braces are required",
        "is sent as the literal text",
        "URL-encoded",
        "renders empty",
        "<code>{replace_me}</code> is allowed only in tracking links shown to publishers",
    ):
        assert rule in response.content.decode()


def test_the_page_is_in_the_admin_look(staff_client):
    response = staff_client.get(URL)
    assert "admin/base_site.html" in [t.name for t in response.templates]
    assert response.context["title"] == "Macro reference"


def test_trying_a_template_shows_its_errors_and_warnings(staff_client):
    response = staff_client.get(URL, {"template": "https://p.example/pb?c={clickid}&s=status"})
    assert "Unknown macro {clickid}" in response.content.decode()
    assert escape("s=status is sent as the literal text “status”") in response.content.decode()


def test_trying_a_template_shows_the_preview_filled_with_example_values(staff_client):
    response = staff_client.get(URL, {"template": "https://p.example/pb?c={click_id}&a={app_name}"})
    page = response.content.decode()
    assert "No problems found." in page
    assert escape("https://p.example/pb?c=c_8Qv3ZkR1xY2bN7mW&a=Space%20Farm") in page


def test_replace_me_is_accepted_when_trying_a_publisher_link(staff_client):
    link = "https://t.example/c/5FAC-D4E8?ref_id={replace_me}"
    refused = staff_client.get(URL, {"template": link}).content.decode()
    accepted = staff_client.get(URL, {"template": link, "publisher_link": "1"}).content.decode()
    assert "{replace_me} is only for tracking links" in refused
    assert "No problems found." in accepted


def test_the_page_without_a_template_shows_no_findings(staff_client):
    response = staff_client.get(URL)
    assert response.context["problems"] == []
    assert 'id="macro-problems"' not in response.content.decode()


def test_the_admin_index_links_the_macro_reference_and_keeps_the_app_list(staff_client):
    response = staff_client.get(reverse("admin:index"))
    page = response.content.decode()
    assert f'href="{URL}"' in page
    assert "Macro reference" in page
    assert response.context["app_list"]

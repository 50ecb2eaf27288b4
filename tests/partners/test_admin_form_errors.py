"""Mistakes in admin forms come back as form errors, never as a server error (issue 14, point 7)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from partners.models import PostbackTemplate
from tests.ingest.test_postback_support import make_world
from tests.leads.test_source_lists import _integration_form

pytestmark = pytest.mark.django_db


def _two_install_postbacks(world) -> dict[str, str]:
    data = _integration_form(world)
    data |= {"postback_templates-TOTAL_FORMS": "2", "postback_templates-INITIAL_FORMS": "0"}
    for index in (0, 1):
        data |= {
            f"postback_templates-{index}-goal": "",
            f"postback_templates-{index}-event": "conversion",
            f"postback_templates-{index}-url": f"https://partner.example/pb{index}?c={{click_id}}",
            f"postback_templates-{index}-is_active": "on",
        }
    return data


def test_a_second_goal_less_conversion_postback_is_a_form_error(client, manager, organization):
    world = make_world(organization)
    PostbackTemplate.objects.filter(integration=world.integration).delete()
    client.force_login(manager)
    url = reverse("admin:partners_integration_change", args=[world.integration.pk])

    response = client.post(url, _two_install_postbacks(world))

    assert response.status_code == 200
    assert "Two postbacks for the install postback (no goal) and the same event" in response.content.decode()
    assert not PostbackTemplate.objects.filter(integration=world.integration).exists()

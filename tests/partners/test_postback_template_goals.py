"""A partner postback's goal on the integration page: the app's goals only, named for what it is sent for."""

from __future__ import annotations

import pytest
from django.urls import reverse

from partners.models import PostbackTemplate
from tests.factories import AppFactory, GoalFactory, IntegrationFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(organization):
    return IntegrationFactory(organization=organization, app__name="Space Farm", partner__name="AdNet One")


def goal_choices(client, integration) -> list[str]:
    response = client.get(reverse("admin:partners_integration_change", args=[integration.pk]))
    formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is PostbackTemplate)
    return [label for _value, label in formset.formset.empty_form.fields["goal"].choices]


def test_the_goal_list_of_a_partner_postback_holds_only_the_apps_goals(client, manager, integration):
    client.force_login(manager)
    ours = OfferFactory(organization=integration.organization, app=integration.app, name="Space Farm CPA")
    GoalFactory(offer=ours, code="registration", name="Registration")
    for name in ("Moon Farm", "Sun Farm"):
        other = OfferFactory(
            organization=integration.organization,
            app=AppFactory(organization=integration.organization, name=name),
            name=f"{name} CPA",
        )
        GoalFactory(offer=other, code="registration", name="Registration")

    choices = goal_choices(client, integration)

    assert choices == [
        "Install, and every goal without a postback of its own",
        "Space Farm CPA: Registration (registration)",
    ]


def test_a_saved_install_postback_is_named_for_what_it_is_sent_for(client, manager, integration):
    client.force_login(manager)
    PostbackTemplate.objects.create(integration=integration, url="https://adnet.example/pb?c={click_id}")
    goal = GoalFactory(offer=OfferFactory(organization=integration.organization, app=integration.app))
    PostbackTemplate.objects.create(
        integration=integration,
        goal=goal,
        event=PostbackTemplate.Event.STATUS,
        url="https://adnet.example/pb?s={status}",
    )

    page = client.get(reverse("admin:partners_integration_change", args=[integration.pk])).content.decode()

    assert "Install, and every goal without a postback of its own · on conversion" in page
    assert f"{goal.name} ({goal.code}) · on a status change" in page
    assert "install · Conversion" not in page

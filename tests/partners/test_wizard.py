"""The partner wizard and the admin pages around it, driven through the Django test client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from partners.forms import PostbackTemplateForm
from partners.models import (
    App,
    Channel,
    GoalAlias,
    Integration,
    Partner,
    PostbackTemplate,
    TrackingLink,
    TrackingParameter,
)
from tests.factories import (
    AppFactory,
    ChannelFactory,
    GoalFactory,
    IntegrationFactory,
    LandingFactory,
    OfferFactory,
    PartnerFactory,
    TrackingLinkFactory,
)

pytestmark = pytest.mark.django_db

POSTBACK = "https://adnet.example/pb?click={partner_click_id}&event={event_name}"
DEFAULT_ROWS = [
    {"name": "partner_click_id", "placeholder": "{clickid}", "in_click": True, "in_impression": True},
    {"name": "sub1", "placeholder": "{site_id}", "in_click": True, "in_impression": False},
]


def formset_data(rows: list[dict[str, Any]], *, initial: int = 2) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tracking-TOTAL_FORMS": len(rows),
        "tracking-INITIAL_FORMS": initial,
        "tracking-MIN_NUM_FORMS": 0,
        "tracking-MAX_NUM_FORMS": 1000,
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            if value is True:
                data[f"tracking-{index}-{key}"] = "on"
            elif value is not False:
                data[f"tracking-{index}-{key}"] = value
    return data


class WizardRun:
    """One run of the wizard, started from the partner picker like a manager does."""

    def __init__(self, client: Client, app: App, partner: Partner | None = None) -> None:
        self.client = client
        start = reverse("admin:partners_app_connect_start", args=[app.pk])
        started = client.get(start, {"partner": partner.pk} if partner else {})
        assert started.status_code == 302
        self.url = started["Location"]
        self.path = urlsplit(self.url).path
        self.run_id = self.path.rstrip("/").rsplit("/", 1)[-1]
        self.first_page = client.get(self.url)

    def post(self, step: str, data: dict[str, Any] | None = None, **extra: Any):
        """Post a step and, as a browser does, follow the redirect to the step it leads to."""
        payload = {f"connect_{self.run_id}-current_step": step, **(data or {}), **extra}
        response = self.client.post(self.path, payload)
        if response.status_code == 302 and response["Location"] == self.path:
            return self.client.get(self.path)
        return response

    def details(self, name: str = "AdNet One", **fields: Any):
        data = {"details-partner_name": name, **{f"details-{k}": v for k, v in fields.items()}}
        return self.post("details", data)

    def postback(self, url: str = POSTBACK):
        return self.post("postback", {"postback-postback_url": url})

    def tracking(self, rows: list[dict[str, Any]] | None = None):
        return self.post("tracking", formset_data(rows if rows is not None else DEFAULT_ROWS))

    def connect(self):
        return self.post("review")

    def back(self, current: str, to: str, data: dict[str, Any] | None = None):
        return self.post(current, data, wizard_goto_step=to)


@pytest.fixture
def app(organization):
    return AppFactory(organization=organization, name="Space Farm")


@pytest.fixture
def offer(app):
    offer = OfferFactory(organization=app.organization, app=app, name="Space Farm CPI")
    LandingFactory(offer=offer)
    return offer


@pytest.fixture
def social(organization):
    return ChannelFactory(organization=organization, name="Social")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def step_of(response) -> str:
    return response.context["wizard"]["steps"].current


def test_app_changelist_links_each_app_to_its_hub(manager_client, app):
    response = manager_client.get(reverse("admin:partners_app_changelist"))
    assert reverse("admin:partners_app_hub", args=[app.pk]) in response.content.decode()


def test_hub_shows_the_advertising_card_with_manage_integration(manager_client, app):
    response = manager_client.get(reverse("admin:partners_app_hub", args=[app.pk]))
    page = response.content.decode()
    assert "Advertising" in page
    assert "Manage integration" in page
    assert reverse("admin:partners_app_integrations", args=[app.pk]) in page


def test_manage_integration_lists_connected_partners_and_the_connect_button(manager_client, app):
    IntegrationFactory(organization=app.organization, app=app, partner__name="Old Network")
    response = manager_client.get(reverse("admin:partners_app_integrations", args=[app.pk]))
    page = response.content.decode()
    assert "Old Network" in page
    assert "Connect partner" in page


def test_partner_picker_filters_custom_and_builtin_partners(manager_client, app, organization):
    PartnerFactory(organization=organization, name="Custom Net")
    PartnerFactory(organization=organization, name="Big Builtin", kind=Partner.Kind.BUILTIN)
    url = reverse("admin:partners_app_connect", args=[app.pk])
    custom = manager_client.get(url, {"kind": "custom"}).content.decode()
    builtin = manager_client.get(url, {"kind": "builtin"}).content.decode()
    assert "Custom Net" in custom and "Big Builtin" not in custom
    assert "Big Builtin" in builtin and "Custom Net" not in builtin
    assert "Connect custom partner" in custom


def test_partner_picker_marks_partners_already_connected(manager_client, app):
    integration = IntegrationFactory(organization=app.organization, app=app, partner__name="Old Network")
    page = manager_client.get(reverse("admin:partners_app_connect", args=[app.pk])).content.decode()
    assert "Connected" in page
    assert f"?partner={integration.partner.pk}" not in page


def test_starting_the_wizard_gives_each_run_a_fresh_id(manager_client, app):
    first = WizardRun(manager_client, app)
    second = WizardRun(manager_client, app)
    assert first.run_id != second.run_id
    assert len(first.run_id) == 32
    assert first.first_page.status_code == 200
    assert step_of(first.first_page) == "details"


def test_manager_connects_a_custom_partner_with_a_new_channel_in_four_steps(manager_client, app, offer):
    run = WizardRun(manager_client, app)
    assert step_of(run.details(new_channel="Affiliate")) == "postback"
    assert step_of(run.postback()) == "tracking"
    review = run.tracking()
    assert step_of(review) == "review"
    assert "AdNet One" in review.content.decode()
    assert not Partner.objects.exists()
    assert not Channel.objects.exists()
    assert not Integration.objects.exists()

    response = run.connect()

    integration = Integration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:partners_integration_change", args=[integration.pk])
    assert integration.partner.name == "AdNet One"
    assert integration.partner.kind == Partner.Kind.CUSTOM
    assert integration.channel.name == "Affiliate"
    assert integration.partner.default_channel == integration.channel
    assert PostbackTemplate.objects.get(integration=integration).url == POSTBACK
    assert list(TrackingParameter.objects.values_list("name", "placeholder", "in_impression")) == [
        ("partner_click_id", "{clickid}", True),
        ("sub1", "{site_id}", False),
    ]
    assert TrackingLink.objects.get().offer == offer


def test_the_integration_page_shows_tracking_urls_and_next_steps_after_connect(
    manager_client, app, offer, social
):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    run.tracking()
    page = manager_client.get(run.connect()["Location"]).content.decode()
    code = TrackingLink.objects.get().code
    assert f"/c/{code}?partner_click_id={{clickid}}&amp;sub1={{site_id}}" in page
    assert f"/i/{code}?partner_click_id={{clickid}}" in page
    assert "Next steps" in page
    assert "is connected to Space Farm" in page


def test_details_step_requires_a_channel_or_a_new_one(manager_client, app):
    response = WizardRun(manager_client, app).details()
    assert step_of(response) == "details"
    assert response.context["form"].errors["channel"] == ["Choose a channel, or create a new one."]


def test_details_step_refuses_the_name_of_an_existing_partner(manager_client, app, social, organization):
    PartnerFactory(organization=organization, name="AdNet One")
    response = WizardRun(manager_client, app).details(name="adnet one", channel=social.pk)
    assert step_of(response) == "details"
    assert "exists already" in response.context["form"].errors["partner_name"][0]


def test_unknown_macro_at_the_postback_step_shows_the_error_and_stays(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    response = run.postback("https://adnet.example/pb?click={clik_id}")
    assert step_of(response) == "postback"
    error = response.context["form"].errors["postback_url"][0]
    assert "Unknown macro {clik_id}" in error
    assert "{click_id}" in error
    assert "Unknown macro {clik_id}" in response.content.decode()


def test_replace_me_is_refused_in_a_partner_postback(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    response = run.postback("https://adnet.example/pb?click={replace_me}")
    assert step_of(response) == "postback"
    assert "{replace_me} is only for tracking links" in response.context["form"].errors["postback_url"][0]


def test_a_macro_name_without_braces_warns_but_does_not_block(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    response = run.postback("https://adnet.example/pb?click=click_id")
    assert step_of(response) == "tracking"
    review = run.tracking()
    assert "is sent as the literal text" in review.content.decode()


def test_postback_step_shows_a_preview_with_sample_values(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    response = run.back("tracking", "postback", formset_data(DEFAULT_ROWS))
    assert "https://adnet.example/pb?click=abc-123&amp;event=Install" in response.content.decode()


def test_back_keeps_what_was_typed_on_earlier_steps(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    response = run.back("tracking", "postback", formset_data(DEFAULT_ROWS))
    assert step_of(response) == "postback"
    assert response.context["form"]["postback_url"].value() == POSTBACK
    details = run.back("postback", "details", {"postback-postback_url": POSTBACK})
    assert details.context["form"]["partner_name"].value() == "AdNet One"


def test_back_keeps_what_was_typed_on_the_step_it_leaves(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.back("postback", "details", {"postback-postback_url": "https://adnet.example/half"})
    response = run.details(channel=social.pk)
    assert response.context["form"]["postback_url"].value() == "https://adnet.example/half"


def test_required_parameter_cannot_be_removed(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    rows = [{**DEFAULT_ROWS[0]}, {**DEFAULT_ROWS[1], "DELETE": True}]
    response = run.tracking(rows)
    assert step_of(response) == "tracking"
    assert response.context["form"].non_form_errors() == ["Required parameters cannot be removed: sub1."]
    assert "Required parameters cannot be removed: sub1." in response.content.decode()


def test_required_parameters_are_prefilled_without_a_remove_box(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    response = run.postback()
    page = response.content.decode()
    assert 'value="partner_click_id"' in page
    assert 'value="sub1"' in page
    assert 'name="tracking-0-DELETE"' not in page
    assert 'name="tracking-2-DELETE"' in page  # the blank extra row behind the Macro button


def test_macro_button_row_adds_a_parameter(manager_client, app, offer, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    extra = {"name": "sub2", "placeholder": "{campaign}", "in_click": True, "in_impression": False}
    review = run.tracking([*DEFAULT_ROWS, extra])
    assert "sub2=%7Bcampaign%7D" not in review.content.decode()
    assert "sub2={campaign}" in review.content.decode()
    run.connect()
    assert TrackingParameter.objects.filter(name="sub2", in_impression=False).exists()


def test_a_parameter_twice_is_an_error_on_its_row(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    twice = {"name": "sub1", "placeholder": "{other}", "in_click": True, "in_impression": True}
    response = run.tracking([*DEFAULT_ROWS, twice])
    assert response.context["form"].forms[2].errors["name"] == [
        "“sub1” appears twice; keep one row per parameter."
    ]


def test_a_placeholder_without_macro_delimiters_warns_but_does_not_block(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    rows = [{**DEFAULT_ROWS[0], "placeholder": "clickid"}, DEFAULT_ROWS[1]]
    review = run.tracking(rows)
    assert step_of(review) == "review"
    assert "it is sent as a hard-coded value" in review.content.decode()


def test_two_runs_in_parallel_do_not_mix(manager_client, app, social):
    first = WizardRun(manager_client, app)
    second = WizardRun(manager_client, app)
    first.details(name="First Network", channel=social.pk)
    second.details(name="Second Network", channel=social.pk)
    first.postback("https://first.example/pb?c={click_id}")
    second.postback("https://second.example/pb?c={click_id}")
    first.tracking()
    second.tracking()

    first.connect()
    second.connect()

    urls = dict(PostbackTemplate.objects.values_list("integration__partner__name", "url"))
    assert urls == {
        "First Network": "https://first.example/pb?c={click_id}",
        "Second Network": "https://second.example/pb?c={click_id}",
    }


def test_an_existing_custom_partner_keeps_its_name_and_starts_from_its_last_setup(
    manager_client, app, organization, social
):
    other_app = AppFactory(organization=organization, name="Moon Farm")
    partner = PartnerFactory(organization=organization, name="Reused Net", default_channel=social)
    used = IntegrationFactory(organization=organization, app=other_app, partner=partner)
    PostbackTemplate.objects.create(integration=used, url="https://reused.example/pb?c={click_id}")
    run = WizardRun(manager_client, app, partner)
    assert run.first_page.context["form"]["partner_name"].value() == "Reused Net"
    assert run.first_page.context["form"]["channel"].value() == social.pk

    postback_page = run.details(name="Renamed", channel=social.pk)
    assert postback_page.context["form"]["postback_url"].value() == "https://reused.example/pb?c={click_id}"
    run.postback("https://reused.example/pb?c={click_id}")
    run.tracking()
    run.connect()

    integration = Integration.objects.get(app=app)
    assert integration.partner == partner
    assert Partner.objects.get(pk=partner.pk).name == "Reused Net"


def test_a_builtin_partner_starts_from_its_presets(manager_client, app, organization, social):
    partner = PartnerFactory(
        organization=organization,
        name="Big Builtin",
        kind=Partner.Kind.BUILTIN,
        preset_postback_url="https://builtin.example/pb?id={partner_click_id}",
        preset_parameters=[{"name": "sub2", "placeholder": "{cmp}", "in_click": True, "in_impression": True}],
    )
    run = WizardRun(manager_client, app, partner)
    postback_page = run.details(channel=social.pk)
    assert postback_page.context["form"]["postback_url"].value() == partner.preset_postback_url
    tracking_page = run.postback(partner.preset_postback_url)
    names = [row["name"].value() for row in tracking_page.context["form"].forms]
    assert names == ["partner_click_id", "sub1", "sub2", None]


def test_a_duplicate_connection_shows_an_error_on_the_review_page(manager_client, app, organization, social):
    partner = PartnerFactory(organization=organization, name="Racy Net")
    run = WizardRun(manager_client, app, partner)
    run.details(channel=social.pk)
    run.postback()
    run.tracking()
    IntegrationFactory(organization=organization, app=app, partner=partner)

    response = run.connect()

    assert response.status_code == 200
    assert step_of(response) == "review"
    assert "Racy Net is already connected to Space Farm." in response.content.decode()
    assert Integration.objects.count() == 1


def test_opening_the_wizard_for_a_partner_already_connected_goes_back_to_the_list(manager_client, app):
    integration = IntegrationFactory(organization=app.organization, app=app)
    start = reverse("admin:partners_app_connect_start", args=[app.pk])
    wizard_url = manager_client.get(start, {"partner": integration.partner.pk})["Location"]
    response = manager_client.get(wizard_url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:partners_app_integrations", args=[app.pk])
    assert "is already connected" in response.content.decode()


@pytest.mark.parametrize("url_name", ["admin:partners_app_connect", "admin:partners_app_connect_start"])
def test_analyst_gets_403_on_the_partner_picker(client, analyst, app, url_name):
    client.force_login(analyst)
    assert client.get(reverse(url_name, args=[app.pk])).status_code == 403


def test_analyst_gets_403_on_the_wizard(client, analyst, app):
    client.force_login(analyst)
    url = reverse("admin:partners_app_connect_wizard", args=[app.pk, "a" * 32])
    assert client.get(url).status_code == 403
    assert client.post(url, {f"connect_{'a' * 32}-current_step": "details"}).status_code == 403


def test_analyst_sees_the_hub_without_connect_buttons(client, analyst, app):
    client.force_login(analyst)
    page = client.get(reverse("admin:partners_app_integrations", args=[app.pk])).content.decode()
    assert "Connect partner" not in page


@pytest.mark.parametrize(
    "url_name",
    ["admin:partners_app_hub", "admin:partners_app_integrations", "admin:partners_app_connect"],
)
def test_another_organizations_app_is_404(manager_client, other_organization, url_name):
    foreign = AppFactory(organization=other_organization)
    assert manager_client.get(reverse(url_name, args=[foreign.pk])).status_code == 404


def test_another_organizations_app_is_404_in_the_wizard(manager_client, other_organization):
    foreign = AppFactory(organization=other_organization)
    url = reverse("admin:partners_app_connect_wizard", args=[foreign.pk, "b" * 32])
    assert manager_client.get(url).status_code == 404


def test_another_organizations_partner_is_404_in_the_wizard(manager_client, app, other_organization):
    foreign = PartnerFactory(organization=other_organization)
    url = reverse("admin:partners_app_connect_wizard", args=[app.pk, "c" * 32])
    assert manager_client.get(url, {"partner": foreign.pk}).status_code == 404


def test_the_wizard_needs_a_staff_login(client, app):
    url = reverse("admin:partners_app_connect_wizard", args=[app.pk, "d" * 32])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_macro_preview_answers_errors_warnings_and_the_filled_url(manager_client):
    url = reverse("admin:partners_app_macro_preview")
    answer = manager_client.get(
        url, {"template": "https://x.example/?a={click_id}&b=goal&c={clik_id}"}
    ).json()
    assert answer["preview"] == "https://x.example/?a=c_8Qv3ZkR1xY2bN7mW&b=goal&c={clik_id}"
    assert len(answer["errors"]) == 1 and "Unknown macro {clik_id}" in answer["errors"][0]
    assert answer["warnings"] == [
        "b=goal is sent as the literal text “goal”. To send the value, write b={goal}."
    ]


def test_macro_preview_needs_a_staff_login(client):
    response = client.get(reverse("admin:partners_app_macro_preview"), {"template": "https://x.example/"})
    assert response.status_code == 302


def test_integration_admin_shows_tracking_urls_built_from_its_parameters(manager_client, app):
    link = TrackingLinkFactory(integration__organization=app.organization, integration__app=app)
    TrackingParameter.objects.create(
        integration=link.integration, name="partner_click_id", placeholder="{cid}", in_impression=False
    )
    page = manager_client.get(
        reverse("admin:partners_integration_change", args=[link.integration.pk])
    ).content.decode()
    assert f"/c/{link.code}?partner_click_id={{cid}}" in page
    assert f"/i/{link.code}</code>" in page


@pytest.mark.parametrize(
    "model", ["channel", "app", "partner", "integration", "offer", "goal", "trackinglink"]
)
def test_every_partners_changelist_opens_and_searches_for_a_manager(manager_client, app, model):
    link = TrackingLinkFactory(integration__organization=app.organization, integration__app=app)
    GoalFactory(offer=link.offer)
    changelist = reverse(f"admin:partners_{model}_changelist")
    assert manager_client.get(changelist).status_code == 200
    assert manager_client.get(changelist, {"q": "a"}).status_code == 200


def test_offer_and_goal_pages_open_with_their_inlines(manager_client, app, offer):
    goal = GoalFactory(offer=offer)
    offer_page = manager_client.get(reverse("admin:partners_offer_change", args=[offer.pk])).content.decode()
    goal_page = manager_client.get(reverse("admin:partners_goal_change", args=[goal.pk])).content.decode()
    assert "Landings" in offer_page and "Creatives" in offer_page and "Goals" in offer_page
    assert "Goal aliases" in goal_page and "Goal partner payouts" in goal_page


def test_partner_changelist_shows_only_the_managers_organization(
    manager_client, organization, other_organization
):
    PartnerFactory(organization=organization, name="Our Network")
    PartnerFactory(organization=other_organization, name="Their Network")
    page = manager_client.get(reverse("admin:partners_partner_changelist")).content.decode()
    assert "Our Network" in page
    assert "Their Network" not in page


def test_integrations_are_added_through_the_wizard_not_the_add_form(manager_client):
    assert manager_client.get(reverse("admin:partners_integration_add")).status_code == 403


def test_the_admin_refuses_a_postback_template_with_an_unknown_macro():
    form = PostbackTemplateForm(data={"event": "conversion", "url": "https://x.example/?c={clik_id}"})
    assert "Unknown macro {clik_id}" in form.errors["url"][0]


def goal_form(offer, **aliases: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "offer": offer.pk,
        "code": "reg",
        "name": "Registration",
        "payout_type": "fixed",
        "payout": "1.00",
        "revenue": "2.00",
        "position": 0,
        "aliases-TOTAL_FORMS": len(aliases),
        "aliases-INITIAL_FORMS": 0,
        "partner_payouts-TOTAL_FORMS": 0,
        "partner_payouts-INITIAL_FORMS": 0,
    }
    data.update({f"aliases-{index}-code": code for index, code in enumerate(aliases.values())})
    return data


def test_a_goal_added_in_the_admin_gets_its_aliases_on_the_same_offer(manager_client, offer):
    response = manager_client.post(reverse("admin:partners_goal_add"), goal_form(offer, first="registration"))
    assert response.status_code == 302
    assert GoalAlias.objects.get().offer == offer


def test_the_admin_refuses_an_alias_already_used_on_the_offer(manager_client, offer):
    GoalAlias.objects.create(goal=GoalFactory(offer=offer), offer=offer, code="registration")
    response = manager_client.post(reverse("admin:partners_goal_add"), goal_form(offer, first="registration"))
    assert response.status_code == 200
    assert "“registration” is already an alias of a goal of this offer." in response.content.decode()


def test_a_step_answers_with_a_redirect_so_a_reload_never_resubmits(manager_client, app, social):
    run = WizardRun(manager_client, app)
    payload = {f"connect_{run.run_id}-current_step": "details", "details-partner_name": "AdNet One"}
    response = manager_client.post(run.path, {**payload, "details-channel": social.pk})
    assert response.status_code == 302
    assert response["Location"] == run.path


def test_reloading_a_step_keeps_the_step_and_everything_typed(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()

    reloaded = manager_client.get(run.url)

    assert step_of(reloaded) == "tracking"
    back = run.back("tracking", "postback", formset_data(DEFAULT_ROWS))
    assert back.context["form"]["postback_url"].value() == POSTBACK
    assert (
        run.back("postback", "details", {"postback-postback_url": POSTBACK})
        .context["form"]["partner_name"]
        .value()
        == "AdNet One"
    )


def test_a_failed_step_shows_its_errors_again_after_a_reload(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback("https://adnet.example/pb?click={clik_id}")

    reloaded = manager_client.get(run.path)

    assert step_of(reloaded) == "postback"
    assert "Unknown macro {clik_id}" in reloaded.content.decode()


def test_connect_custom_partner_again_resumes_the_run_in_progress(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    start = reverse("admin:partners_app_connect_start", args=[app.pk])

    resumed = manager_client.get(start, follow=True)

    assert resumed.redirect_chain[-1][0] == run.path
    assert step_of(resumed) == "postback"
    assert urlsplit(manager_client.get(start, {"new": "1"})["Location"]).path != run.path


def test_connecting_another_partner_does_not_resume_the_custom_run(manager_client, app, organization, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    partner = PartnerFactory(organization=organization, name="Other Net")
    start = reverse("admin:partners_app_connect_start", args=[app.pk])
    assert urlsplit(manager_client.get(start, {"partner": partner.pk})["Location"]).path != run.path


def test_the_partner_picker_offers_to_continue_the_run_in_progress(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    page = manager_client.get(reverse("admin:partners_app_connect", args=[app.pk])).content.decode()
    assert "A connection in progress: <strong>AdNet One</strong>, step 2 of 4 (Install postback)." in page
    assert f'href="{run.path}"' in page


def test_start_over_clears_the_run_and_goes_back_to_step_one(manager_client, app, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()

    response = run.post("tracking", formset_data(DEFAULT_ROWS), wizard_start_over="1")

    assert step_of(response) == "details"
    assert response.context["form"]["partner_name"].value() is None
    assert "Started over" in response.content.decode()
    page = manager_client.get(reverse("admin:partners_app_connect", args=[app.pk])).content.decode()
    assert "A connection in progress" not in page


def test_a_connected_run_is_no_longer_offered_to_continue(manager_client, app, offer, social):
    run = WizardRun(manager_client, app)
    run.details(channel=social.pk)
    run.postback()
    run.tracking()
    run.connect()
    page = manager_client.get(reverse("admin:partners_app_connect", args=[app.pk])).content.decode()
    assert "A connection in progress" not in page
    start = reverse("admin:partners_app_connect_start", args=[app.pk])
    assert urlsplit(manager_client.get(start)["Location"]).path != run.path


def test_step_two_names_our_macros_and_step_three_the_partners(manager_client, app, social):
    run = WizardRun(manager_client, app)
    postback_page = run.details(channel=social.pk).content.decode()
    tracking_page = run.postback().content.decode()
    assert "<code>{click_id}</code> is the click id <em>we</em> gave the click" in postback_page
    assert "<th>Our parameter</th><th>Partner's macro" in tracking_page
    assert "the partner replaces <code>{clickid}</code> with its click id" in tracking_page

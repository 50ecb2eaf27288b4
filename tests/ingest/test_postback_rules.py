"""Every rule of SPEC 4.2 (the CPA-network seed), one behaviour per test, the seed's examples as written."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from ingest.models import InboundPostback
from leads.models import Lead, LeadEvent, LeadStatus
from partners.models import GoalPartnerPayout, PayoutType
from tests.ingest.test_postback_support import get_json, make_world

LEAD = "/api/site/click.json"
STATUS = "/api/site/status.json"


@pytest.fixture
def world(organization):
    return make_world(organization)


@pytest.fixture
def click(world):
    return world.click()


def test_lead_postback_creates_a_lead_for_the_click(client, world, click):
    status, body = get_json(client, world.url(LEAD, click=click.click_id))

    assert status == 200
    assert body["ok"] is True and body["created"] is True
    assert body["lead"]["click_id"] == click.click_id
    assert body["lead"]["status"] == "new"
    assert Lead.objects.get().click == click


def test_lead_answer_has_every_field_of_the_contract_with_money_as_strings(client, world, click):
    _, body = get_json(client, world.url(LEAD, click=click.click_id, exto="abc"))

    assert body["lead"] == {
        "id": Lead.objects.get().pk,
        "status": "new",
        "goal": "install",
        "payout": "1.50",
        "revenue": "2.00",
        "currency": "USD",
        "exto": "abc",
        "click_id": click.click_id,
    }


def test_postback_lead_path_is_the_same_as_click_json(client, world, click):
    status, body = get_json(client, world.url("/postback/lead", click=click.click_id))

    assert status == 200 and body["created"] is True


def test_post_with_a_json_body_creates_the_lead(client, world, click):
    response = client.post(
        "/postback/lead",
        data={"token": world.token, "click": click.click_id, "exto": "j1"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["lead"]["exto"] == "j1"


def test_post_with_a_form_body_creates_the_lead(client, world, click):
    response = client.post(
        "/postback/lead",
        data=urlencode({"token": world.token, "click": click.click_id}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.json()["created"] is True


def test_seed_example_with_unique_id_repeated_answers_the_same_lead(client, world, click):
    url = f"/api/site/click.json?token={world.token}&click={click.click_id}&exto=abc"
    _, first = get_json(client, url)

    status, second = get_json(client, url)

    assert status == 200
    assert second["created"] is False
    assert second["lead"]["id"] == first["lead"]["id"]
    assert Lead.objects.count() == 1


def test_repeated_creation_is_logged_as_duplicate_without_a_second_event(client, world, click):
    url = world.url(LEAD, click=click.click_id, exto="abc")
    get_json(client, url)
    get_json(client, url)

    assert list(InboundPostback.objects.order_by("id").values_list("outcome", flat=True)) == [
        "created",
        "duplicate",
    ]
    assert LeadEvent.objects.count() == 1


def test_click_alone_is_the_key_without_exto(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))

    _, body = get_json(client, world.url(LEAD, click=click.click_id))

    assert body["created"] is False
    assert Lead.objects.count() == 1


def test_two_exto_values_on_one_click_are_two_leads(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, exto="a1"))
    get_json(client, world.url(LEAD, click=click.click_id, exto="a2"))

    assert sorted(Lead.objects.values_list("exto", flat=True)) == ["a1", "a2"]


def test_status_change_finds_exactly_the_lead_with_the_click_and_exto(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, exto="a1"))
    get_json(client, world.url(LEAD, click=click.click_id, exto="a2"))

    get_json(client, world.url(STATUS, click=click.click_id, exto="a2", status="approved"))

    assert dict(Lead.objects.values_list("exto", "status")) == {"a1": "new", "a2": "approved"}


def test_status_without_exto_on_a_click_with_several_leads_is_refused(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, exto="a1"))
    get_json(client, world.url(LEAD, click=click.click_id, exto="a2"))

    status, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved"))

    assert status == 422
    assert body == {"ok": False, "error": "several leads on this click: send exto."}
    assert not Lead.objects.filter(status="approved").exists()


def test_status_without_exto_applies_to_the_only_lead_of_the_click(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved"))

    assert body["lead"]["status"] == "approved"


def test_seed_example_with_flow_id_creates_a_lead_without_a_click(client, world):
    status, body = get_json(client, f"/api/site/click.json?token={world.token}&flow={world.link.pk}")

    assert status == 200
    assert body["lead"]["click_id"] is None
    assert Lead.objects.get().link == world.link


def test_seed_example_with_flow_code_creates_a_lead_without_a_click(client, world):
    status, _ = get_json(client, f"/api/site/click.json?token={world.token}&code={world.link.code}")

    assert status == 200
    assert Lead.objects.get().link == world.link


def test_flow_alone_without_exto_makes_a_new_lead_each_time(client, world):
    get_json(client, world.url(LEAD, flow=world.link.pk))
    _, body = get_json(client, world.url(LEAD, flow=world.link.pk))

    assert body["created"] is True
    assert Lead.objects.count() == 2


def test_flow_and_exto_are_a_key_for_creation(client, world):
    get_json(client, world.url(LEAD, flow=world.link.pk, exto="f1"))
    _, body = get_json(client, world.url(LEAD, code=world.link.code, exto="f1"))

    assert body["created"] is False
    assert Lead.objects.count() == 1


def test_flow_and_exto_change_the_status(client, world):
    get_json(client, world.url(LEAD, flow=world.link.pk, exto="f1"))

    _, body = get_json(client, world.url(STATUS, flow=world.link.pk, exto="f1", status="approved"))

    assert body["lead"]["status"] == "approved"


def test_status_postback_by_flow_without_exto_is_refused(client, world):
    get_json(client, world.url(LEAD, flow=world.link.pk))

    status, body = get_json(client, world.url(STATUS, flow=world.link.pk, status="approved"))

    assert status == 422
    assert "needs exto" in body["error"]


def test_unknown_flow_is_not_found(client, world):
    status, body = get_json(client, world.url(LEAD, flow=999999))

    assert status == 404
    assert body["ok"] is False and "Tracking link not found" in body["error"]


def test_seed_example_goal_alias_counts_for_the_goal(client, world, click):
    url = f"/api/site/click.json?token={world.token}&click={click.click_id}&goal=reg"

    _, body = get_json(client, url)

    assert body["lead"]["goal"] == "registration"
    assert (body["lead"]["payout"], body["lead"]["revenue"]) == ("3.00", "5.00")


def test_goal_main_code_is_recognized_in_any_case(client, world, click):
    _, body = get_json(client, world.url(LEAD, click=click.click_id, goal="Registration"))

    assert body["lead"]["goal"] == "registration"


def test_without_goal_the_offer_default_goal_counts(client, world, click):
    _, body = get_json(client, world.url(LEAD, click=click.click_id))

    assert body["lead"]["goal"] == "install"


def test_without_goal_and_without_default_goal_the_lead_has_none(client, world, click):
    world.install.is_default = False
    world.install.save()

    _, body = get_json(client, world.url(LEAD, click=click.click_id))

    assert body["lead"]["goal"] is None


def test_unknown_goal_is_refused_naming_the_value_and_the_known_codes(client, world, click):
    status, body = get_json(client, world.url(LEAD, click=click.click_id, goal="deposit"))

    assert status == 422
    assert "“deposit”" in body["error"]
    assert "install" in body["error"] and "reg" in body["error"]
    assert not Lead.objects.exists()


def test_changing_the_goal_of_an_approved_lead_recalculates_its_money(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, exto="x"))
    get_json(client, world.url(STATUS, click=click.click_id, exto="x", status="approved"))

    _, body = get_json(
        client, world.url(STATUS, click=click.click_id, exto="x", status="approved", goal="reg")
    )

    assert body["lead"]["status"] == "approved"
    assert (body["lead"]["goal"], body["lead"]["payout"], body["lead"]["revenue"]) == (
        "registration",
        "3.00",
        "5.00",
    )
    assert LeadEvent.objects.filter(kind="goal", from_goal="install", to_goal="registration").exists()


def test_partner_payout_override_comes_before_the_goal_payout(client, world, click):
    GoalPartnerPayout.objects.create(goal=world.install, partner=world.link.partner, payout=Decimal("0.75"))

    _, body = get_json(client, world.url(LEAD, click=click.click_id))

    assert body["lead"]["payout"] == "0.75"


def test_percent_goal_pays_a_share_of_the_revenue(client, world, click):
    world.install.payout_type, world.install.payout = PayoutType.PERCENT, Decimal("40")
    world.install.save()

    _, body = get_json(client, world.url(LEAD, click=click.click_id))

    assert body["lead"]["payout"] == "0.80"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("approve", "approved"),
        ("Confirmed", "approved"),
        ("sale", "approved"),
        ("1", "approved"),
        ("declined", "cancelled"),
        ("0", "cancelled"),
        ("fraud", "trash"),
        ("pending_approval", "hold"),
        ("in_progress", "processing"),
        ("pending", "new"),
    ],
)
def test_status_is_recognized_automatically_from_the_synonym_table(client, world, click, word, expected):
    get_json(client, world.url(LEAD, click=click.click_id, status="hold"))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status=word))

    assert body["lead"]["status"] == expected


def test_seed_example_special_approve_status_sta(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))
    url = f"/api/site/status.json?token={world.token}&click={click.click_id}&status=lead_ok&sta=lead_ok"

    _, body = get_json(client, url)

    assert body["lead"]["status"] == "approved"


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [("stc", "cancelled"), ("stt", "trash"), ("sth", "hold"), ("stw", "processing"), ("sta", "approved")],
)
def test_each_override_parameter_takes_a_comma_separated_list(client, world, click, parameter, expected):
    get_json(client, world.url(LEAD, click=click.click_id))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status="B2", **{parameter: "a1,b2"}))

    assert body["lead"]["status"] == expected


def test_override_without_a_match_falls_back_to_automatic_recognition(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status="declined", sta="lead_ok"))

    assert body["lead"]["status"] == "cancelled"


def test_override_is_checked_before_the_synonym_table(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status="1", stt="1"))

    assert body["lead"]["status"] == "trash"


def test_unrecognized_status_is_refused_naming_the_value(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))

    status, body = get_json(client, world.url(STATUS, click=click.click_id, status="weird"))

    assert status == 422
    assert "“weird”" in body["error"]
    assert Lead.objects.get().status == "new"


def test_seed_example_single_postback_stn_creates_the_lead_as_new(client, world, click):
    url = f"/api/site/status.json?token={world.token}&click={click.click_id}&status=new&stn=new"

    status, body = get_json(client, url)

    assert status == 200
    assert body["created"] is True and body["lead"]["status"] == "new"


def test_stn_then_a_status_of_the_same_single_postback_changes_the_lead(client, world, click):
    get_json(client, world.url(STATUS, click=click.click_id, status="new", stn="new"))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved", stn="new"))

    assert body["created"] is False and body["lead"]["status"] == "approved"


def test_status_not_matching_stn_on_a_missing_lead_is_not_found(client, world, click):
    status, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved", stn="new"))

    assert status == 404
    assert body["ok"] is False and body["error"].startswith("Lead not found")
    assert not Lead.objects.exists()


def test_auto_creates_the_lead_directly_in_the_recognized_status(client, world, click):
    status, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved", auto=1))

    assert status == 200
    assert body["created"] is True and body["lead"]["status"] == "approved"


def test_auto_does_not_create_when_the_click_already_has_a_lead(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, exto="a1"))

    status, _ = get_json(
        client, world.url(STATUS, click=click.click_id, exto="a2", status="approved", auto=1)
    )

    assert status == 404
    assert Lead.objects.count() == 1


def test_status_postback_for_a_missing_lead_is_kept_for_replay(client, world, click):
    get_json(client, world.url(STATUS, click=click.click_id, status="approved"))

    inbound = InboundPostback.objects.get()
    assert (inbound.outcome, inbound.http_status, inbound.app) == ("rejected", 404, world.app)


def test_seed_example_advertiser_commission_pay_and_cc(client, world, click):
    url = f"/api/site/click.json?token={world.token}&click={click.click_id}&pay=10&cc=EUR"

    _, body = get_json(client, url)

    assert (body["lead"]["revenue"], body["lead"]["currency"]) == ("10.00", "EUR")
    assert body["lead"]["payout"] == "1.50"


def test_pay_alone_on_a_percent_goal_pays_the_share_of_the_new_revenue(client, world, click):
    world.install.payout_type, world.install.payout = PayoutType.PERCENT, Decimal("50")
    world.install.save()

    _, body = get_json(client, world.url(LEAD, click=click.click_id, pay=10))

    assert body["lead"]["payout"] == "5.00"


def test_wm_sets_the_publisher_commission_directly(client, world, click):
    _, body = get_json(client, world.url(LEAD, click=click.click_id, pay=10, wm="4.25"))

    assert (body["lead"]["payout"], body["lead"]["revenue"]) == ("4.25", "10.00")


def test_money_set_by_wm_and_pay_stays_when_the_goal_changes(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, pay=10, wm=4))

    _, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved", goal="reg"))

    assert (body["lead"]["payout"], body["lead"]["revenue"]) == ("4.00", "10.00")


def test_pay_on_a_status_postback_is_recorded_as_a_money_event(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))

    get_json(client, world.url(STATUS, click=click.click_id, status="approved", pay="7.5"))

    event = LeadEvent.objects.get(kind="money")
    assert (event.from_revenue, event.to_revenue) == (Decimal("2.0000"), Decimal("7.5000"))


def test_same_status_twice_is_a_no_op_without_event(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))
    get_json(client, world.url(STATUS, click=click.click_id, status="approved"))

    status, body = get_json(client, world.url(STATUS, click=click.click_id, status="approved"))

    assert status == 200 and body["created"] is False
    assert LeadEvent.objects.filter(kind="status").count() == 1
    assert InboundPostback.objects.order_by("-id").first().outcome == "unchanged"


def test_every_change_is_an_event_with_source_and_inbound_row(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id))
    get_json(client, world.url(STATUS, click=click.click_id, status="approved"))

    event = LeadEvent.objects.get(kind="status")
    assert (event.source, event.from_status, event.to_status) == ("postback", "new", "approved")
    assert event.inbound == InboundPostback.objects.get(outcome="updated")


def test_accepted_postback_is_logged_with_its_lead(client, world, click):
    get_json(client, world.url(LEAD, click=click.click_id, exto="z"))

    inbound = InboundPostback.objects.get()
    lead = Lead.objects.get()
    assert (inbound.outcome, inbound.http_status, inbound.lead, inbound.endpoint) == (
        "created",
        200,
        lead,
        "lead",
    )
    assert inbound.params["exto"] == "z"
    assert inbound.params["token"] != world.token


def test_lead_status_values_are_the_six_of_the_spec():
    assert set(LeadStatus.values) == {"new", "processing", "hold", "approved", "cancelled", "trash"}

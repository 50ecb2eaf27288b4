"""The admin's delivery log at a laptop's width: every column, Attempts included, is in view."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from postbacks.models import Delivery
from tests.factories import IntegrationFactory, MembershipFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_URL = (
    "https://tracker.adnet-one.example/postback/conversion?click_id=c_8Qv3ZkR1xY2bN7mWc_8Qv3ZkR1xY2bN7mW"
    "&partner_click_id=4f1c2a9e-77d1-4c55-9b0e-7d0a3c1e2f44&event=registration&payout=1.50&currency=USD"
)


@pytest.fixture
def deliveries():
    organization = OrganizationFactory(name="Acme Games", slug="acme")
    MembershipFactory(organization=organization, role=Role.MANAGER, user__username="maria")
    integration = IntegrationFactory(organization=organization, partner__name="AdNet One with a long name")
    for state in (Delivery.State.DONE, Delivery.State.PENDING, Delivery.State.FAILED):
        Delivery.objects.create(
            organization=organization,
            kind=Delivery.Kind.PARTNER,
            event="conversion",
            integration=integration,
            partner=integration.partner,
            url=LONG_URL,
            state=state,
            attempt_count=3,
            last_status_code=503,
        )


def test_the_delivery_log_shows_its_attempts_column_at_1366_px(page: Page, deliveries):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/admin/login/?next=/admin/postbacks/delivery/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", "pass-word-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#result_list")).to_be_visible()

    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOT_DIR"], "delivery-log-1366.png"), full_page=True
        )
    results = page.locator("#changelist .results").bounding_box()
    for column in ("column-attempts_shown", "column-last_status_code", "column-next_attempt_at"):
        header = page.locator(f"#result_list th.{column}").bounding_box()
        assert header is not None
        assert header["x"] + header["width"] <= min(1366, results["x"] + results["width"]) + 1, column
    cell = page.locator("#result_list td.field-attempts_shown").first
    expect(cell).to_have_text("3")
    box = cell.bounding_box()
    assert box["x"] + box["width"] <= 1366

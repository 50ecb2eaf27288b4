"""Send a test: one call of an outbound URL, now, filled with sample values, kept as a test delivery.

Every place where an outbound URL is edited sends its test through `delivery_test_send`: the
wizard's postback step (the URL as typed, not saved yet), the integration page (each postback
template, the status sync), a CleverTap destination and the publisher's Postback tab. The
delivery is written already claimed by this process and sent once, at once, by the sending core
(`services._attempt`), so a test goes out exactly as a real call would: the SSRF check, the
idempotency headers and, when the tested destination has a secret, the signature. A test has
no destination key, so its failures never pause a destination; it is never retried.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.i18n import admin_text
from partners.macros import errors_of, render, render_text, sample_values
from partners.models import App, Integration, Partner, Platform, PostbackTemplate
from postbacks import clevertap
from postbacks.models import CleverTapDestination, Delivery, DeliveryAttempt
from postbacks.outbound import POLICIES
from postbacks.services import MASK_QUOTED, DeliveryRefused, _attempt, lease_for, worker_name

logger = logging.getLogger(__name__)

Kind = Delivery.Kind
TESTED_KINDS = frozenset({Kind.PARTNER, Kind.PUBLISHER, Kind.STATUS_SYNC, Kind.CLEVERTAP})
# The CleverTap ID a test event carries: obviously not a real device in CleverTap's dashboard.
TEST_DEVICE_ID = "partnerdesk-test-device"
# Enough for a person trying a URL a few times; a script hammering a partner is stopped.
TESTS_PER_MINUTE = 10
# The passcode stays encrypted on the destination until the call is made (services.url_to_send).
_PASSCODE_PLACEHOLDER = "PASSCODEATSENDTIME"


class TooManyTests(DeliveryRefused):
    """A person sent more tests in the last minute than `TESTS_PER_MINUTE`."""


def delivery_test_send(
    *,
    organization_id: int,
    tested_kind: str,
    url: str,
    actor: Any,
    template: PostbackTemplate | None = None,
    partner: Partner | None = None,
    integration: Integration | None = None,
    destination: CleverTapDestination | None = None,
    app: App | None = None,
) -> Delivery:
    """Send `url` (already filled in) once, now, as a test of `tested_kind`; answers the delivery.

    The tested destination's rows are linked when it exists, so the sending core finds its
    signing secret (or CleverTap passcode) the same way as for a real call. Raises
    `TooManyTests` when `actor` sent too many tests in the last minute.
    """
    if tested_kind not in TESTED_KINDS:
        raise ValueError(f"Unknown tested kind {tested_kind!r}: one of {sorted(TESTED_KINDS)}.")
    _count_test(actor)
    token = worker_name()
    # Held like any claim of the tested kind: its call's timeout and time to record the answer.
    lease = lease_for(POLICIES[tested_kind])
    delivery = Delivery.objects.create(
        organization_id=organization_id,
        kind=Kind.TEST,
        event=tested_kind,
        url=url,
        template=template,
        partner=partner,
        integration=integration,
        destination=destination,
        app=app,
        destination_key="",
        state=Delivery.State.SENDING,
        claimed_by=token,
        claimed_until=timezone.now() + lease,
    )
    _attempt(delivery, token, actor=actor)
    delivery.refresh_from_db()
    return delivery


def _count_test(actor: Any) -> None:
    """Count this person's test against the per-minute limit; Redis trouble lets the test through."""
    user_id = getattr(actor, "pk", None)
    if user_id is None:
        return
    key = f"postbacks:testsend:{user_id}:{int(timezone.now().timestamp()) // 60}"
    try:
        cache.add(key, 0, timeout=90)
        count = cache.incr(key)
    except Exception as error:  # noqa: BLE001 - the limit is a courtesy, never a condition of sending
        logger.warning("Test-send limit not checked (%s); the test is sent.", error)
        return
    if count > TESTS_PER_MINUTE:
        raise TooManyTests(
            ngettext(
                "You sent %(count)d test in the last minute; wait a minute, then send again.",
                "You sent %(count)d tests in the last minute; wait a minute, then send again.",
                TESTS_PER_MINUTE,
            )
            % {"count": TESTS_PER_MINUTE}
        )


def last_attempt(delivery: Delivery) -> DeliveryAttempt | None:
    """The attempt a test made (a test is tried once)."""
    return delivery.attempts.order_by("-number").first()


def test_values(*, app: App | None = None, partner_name: str = "", channel: str = "") -> dict[str, str]:
    """The preview's sample values, with the names this destination really has where known."""
    values = sample_values()
    if app is not None:
        values.update(app_id=str(app.pk), app_name=app.name, platform=_platform(app))
    if partner_name:
        values["partner_name"] = partner_name
    if channel:
        values["channel"] = channel
    return values


def _platform(app: App) -> str:
    return Platform.ANDROID if app.platform == Platform.CROSS else app.platform


def _integration_values(integration: Integration) -> dict[str, str]:
    channel = integration.channel or integration.partner.default_channel
    return test_values(
        app=integration.app, partner_name=integration.partner.name, channel=channel.name if channel else ""
    )


# --- The surfaces ------------------------------------------------------------------------------


def wizard_postback_test(*, app: App, url: str, actor: Any, partner: Partner | None = None) -> Delivery:
    """The wizard's postback step: the URL as typed (nothing is saved yet), filled exactly as the
    live preview is (the macros' sample values)."""
    url = url.strip()
    if not url:
        raise DeliveryRefused(str(admin_text("Type the partner's postback URL first, then send a test.")))
    errors = errors_of(url)
    if errors:
        raise DeliveryRefused(" ".join(errors))
    return delivery_test_send(
        organization_id=app.organization_id,
        tested_kind=Kind.PARTNER,
        url=render(url, sample_values()),
        actor=actor,
        partner=partner,
        app=app,
    )


def template_test(*, template: PostbackTemplate, actor: Any) -> Delivery:
    """An integration's postback template as saved, with its app's and partner's names."""
    integration = template.integration
    return delivery_test_send(
        organization_id=integration.organization_id,
        tested_kind=Kind.PARTNER,
        url=render(template.url, _integration_values(integration)),
        actor=actor,
        template=template,
        partner=integration.partner,
        integration=integration,
        app=integration.app,
    )


def status_sync_test(*, integration: Integration, actor: Any) -> Delivery:
    """An integration's status-sync URL as saved, with its app's and partner's names."""
    if not integration.status_sync_url.strip():
        raise DeliveryRefused("This integration has no status-sync URL: set one and save, then send a test.")
    return delivery_test_send(
        organization_id=integration.organization_id,
        tested_kind=Kind.STATUS_SYNC,
        url=render(integration.status_sync_url.strip(), _integration_values(integration)),
        actor=actor,
        partner=integration.partner,
        integration=integration,
        app=integration.app,
    )


def publisher_postback_test(*, partner: Partner, actor: Any) -> Delivery:
    """The publisher's own postback URL as saved, with its name."""
    url = partner.publisher_postback_url.strip()
    if not url:
        raise DeliveryRefused(_("Set the postback URL first, then send a test."))
    return delivery_test_send(
        organization_id=partner.organization_id,
        tested_kind=Kind.PUBLISHER,
        url=render(url, test_values(partner_name=partner.name)),
        actor=actor,
        partner=partner,
    )


def clevertap_test(*, destination: CleverTapDestination, actor: Any) -> Delivery:
    """A real `/attribution` call: an inorganic install of the test device, with the destination's
    credentials and its utm templates filled with sample values."""
    values = test_values(app=destination.app)
    try:
        url = clevertap.build_attribution_url(
            region=destination.region,
            partner_name=destination.partner_name,
            event_type=clevertap.EventType.INORGANIC_INSTALL,
            timestamp=timezone.now(),
            device_identifier=TEST_DEVICE_ID,
            utm_source=render_text(destination.utm_source_template, values),
            utm_medium=render_text(destination.utm_medium_template, values),
            utm_campaign=render_text(destination.utm_campaign_template, values),
            account_id=destination.account_id,
            account_token=destination.account_token,
            account_passcode=_PASSCODE_PLACEHOLDER,
            platform=values["platform"],
        )
    except clevertap.NotSendable as reason:
        raise DeliveryRefused(f"Nothing was sent: {reason}") from None
    return delivery_test_send(
        organization_id=destination.organization_id,
        tested_kind=Kind.CLEVERTAP,
        url=url.replace(f"account_passcode={_PASSCODE_PLACEHOLDER}", f"account_passcode={MASK_QUOTED}"),
        actor=actor,
        destination=destination,
        app=destination.app,
    )

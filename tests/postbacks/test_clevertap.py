"""CleverTap's generic attribution API: every rule of the CleverTap seed."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from django.core.exceptions import ValidationError

from postbacks.clevertap import (
    DEFAULT_REGION,
    POLICY,
    REGION_CHOICES,
    REGIONS,
    EventType,
    NotSendable,
    build_attribution_url,
    clean_credential,
    parse_failure,
    send_event,
)
from postbacks.outbound import Outcome

# The seed's sample endpoints, as CleverTap's guide prints them.
ORGANIC_SAMPLE = (
    "https://api.clevertap.com/attribution?partner_name=airbridge&event_type=organic_install"
    "&utm_source=utm_google&utm_medium=gd&utm_campaign=adir&device_identifier=__android11235"
    "&account_id=W6W-797-865Z&account_token=aca-060&account_passcode=1f81b71b91d84885a898911ab8722f34"
    "&platform=android&timestamp=1660717763"
)
INORGANIC_SAMPLE = (
    "https://api.clevertap.com/attribution?partner_name=airbirdge&event_type=inorganic_install"
    "&utm_source=utm_google&utm_medium=gd&utm_campaign=adir&device_identifier=__android11235"
    "&account_id=W6W-797-865Z&account_token=aca-060&account_passcode=1f81b71b91d84885a898911ab8722f34"
    "&platform=android&timestamp=1660717763"
)
CUSTOM_SAMPLE = (
    "https://api.clevertap.com/attribution?partner_name=airbirdge&event_type=Add_to_cart"
    "&timestamp=1656317838&device_identifier=__g1234abc&items=shoes&price=12.00&account_id=W6W-797-865Z"
    "&account_token=aca-060&account_passcode=1f81b71b91d84885a898911ab8722f34&platform=android"
    "&timestamp=1660717763"
)
CREDENTIALS = {
    "account_id": "W6W-797-865Z",
    "account_token": "aca-060",
    "account_passcode": "1f81b71b91d84885a898911ab8722f34",
}
INSTALL = {
    "region": "EU",
    "partner_name": "airbridge",
    "event_type": EventType.INORGANIC_INSTALL,
    "timestamp": 1660717763,
    "device_identifier": "__android11235",
    "utm_source": "utm_google",
    "utm_medium": "gd",
    "utm_campaign": "adir",
    "platform": "android",
    **CREDENTIALS,
}
INVALID_ACCOUNT = '{"status": "fail", "error": "Invalid Account Info", "code": 401}'
UTM_MISSING = '{\n    "status": "fail",\n    "error": "utm_source is missing",\n    "code": 400\n}'


@pytest.fixture
def clevertap_here(settings, httpserver):
    """CleverTap's endpoint replaced by the local receiver, as in development."""
    settings.CLEVERTAP_BASE_URL = f"http://127.0.0.1:{httpserver.port}"
    settings.OUTBOUND_ALLOW_PRIVATE = True
    return httpserver


def split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(
        parse_qsl(parts.query, keep_blank_values=True)
    )


@pytest.mark.parametrize(
    ("sample", "partner", "event_type"),
    [
        (ORGANIC_SAMPLE, "airbridge", EventType.ORGANIC_INSTALL),
        (INORGANIC_SAMPLE, "airbirdge", EventType.INORGANIC_INSTALL),
    ],
)
def test_install_urls_carry_the_parameters_of_the_seeds_samples(sample, partner, event_type):
    url = build_attribution_url(**{**INSTALL, "partner_name": partner, "event_type": event_type})
    assert split(url) == split(sample)


def test_install_url_parameters_follow_the_guides_order():
    query = urlsplit(build_attribution_url(**INSTALL)).query
    assert [key for key, _ in parse_qsl(query)] == [
        "partner_name",
        "event_type",
        "timestamp",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "device_identifier",
        "account_id",
        "account_token",
        "account_passcode",
        "platform",
    ]


def test_a_custom_event_is_sent_under_its_name_with_extra_parameters_passed_through():
    url = build_attribution_url(
        region="EU",
        partner_name="airbirdge",
        event_type=EventType.CUSTOM,
        custom_event_name="Add_to_cart",
        timestamp=1660717763,
        device_identifier="__g1234abc",
        platform="android",
        extra={"items": "shoes", "price": "12.00"},
        **CREDENTIALS,
    )
    # The seed's sample repeats `timestamp`; it is sent once, with the sample's last value.
    assert split(url) == split(CUSTOM_SAMPLE)
    assert parse_qs(urlsplit(url).query)["timestamp"] == ["1660717763"]


def test_a_custom_event_without_any_utm_is_sendable():
    no_utm = dict.fromkeys(("utm_source", "utm_medium", "utm_campaign"), "")
    url = build_attribution_url(
        **{**INSTALL, **no_utm, "event_type": EventType.CUSTOM, "custom_event_name": "Checkout"}
    )
    _, params = split(url)
    assert params["event_type"] == "Checkout"
    assert not {"utm_source", "utm_medium", "utm_campaign"} & set(params)


def test_extra_parameters_keep_empty_values_as_in_the_seeds_region_samples():
    url = build_attribution_url(
        **INSTALL, extra={"android_id": None, "city": "Mumbai", "match_type": "gp_referrer"}
    )
    _, params = split(url)
    assert (params["android_id"], params["city"], params["match_type"]) == ("", "Mumbai", "gp_referrer")


def test_an_extra_parameter_may_not_replace_a_standard_one():
    with pytest.raises(NotSendable, match="“account_id” would replace CleverTap's own"):
        build_attribution_url(**INSTALL, extra={"account_id": "someone-else"})


def test_values_are_url_encoded():
    url = build_attribution_url(**{**INSTALL, "utm_campaign": "summer sale&more"})
    assert "utm_campaign=summer+sale%26more" in url
    assert split(url)[1]["utm_campaign"] == "summer sale&more"


def test_a_datetime_timestamp_is_sent_as_epoch_seconds():
    url = build_attribution_url(**{**INSTALL, "timestamp": datetime(2022, 8, 17, 6, 29, 23, tzinfo=UTC)})
    assert split(url)[1]["timestamp"] == "1660717763"


def test_without_a_timestamp_the_parameter_is_left_for_clevertap_to_fill():
    assert "timestamp" not in split(build_attribution_url(**{**INSTALL, "timestamp": None}))[1]


@pytest.mark.parametrize(
    ("code", "host"),
    [
        ("EU", "api.clevertap.com"),
        ("IN", "in1.api.clevertap.com"),
        ("US", "us1.api.clevertap.com"),
        ("SG", "sg1.api.clevertap.com"),
        ("SK", "sk1.api.clevertap.com"),
        ("ID", "aps3.api.clevertap.com"),
        ("AE", "mec1.api.clevertap.com"),
    ],
)
def test_each_region_sends_to_its_data_center(code, host):
    endpoint, _ = split(build_attribution_url(**{**INSTALL, "region": code}))
    assert endpoint == f"https://{host}/attribution"


def test_regions_are_offered_as_a_dropdown_with_eu_first_and_default():
    assert DEFAULT_REGION == "EU"
    assert REGION_CHOICES[0] == ("EU", "EU (Europe)")
    assert [label for _, label in REGION_CHOICES][-2:] == ["Indonesia", "Middle East (UAE)"]
    assert len(REGION_CHOICES) == len(REGIONS) == 7


def test_an_unknown_region_is_not_sendable():
    with pytest.raises(NotSendable, match="Unknown CleverTap region “XX”"):
        build_attribution_url(**{**INSTALL, "region": "XX"})


def test_the_base_url_setting_replaces_scheme_and_host(settings):
    settings.CLEVERTAP_BASE_URL = "http://127.0.0.1:8025/"
    endpoint, _ = split(build_attribution_url(**{**INSTALL, "region": "IN"}))
    assert endpoint == "http://127.0.0.1:8025/attribution"


@pytest.mark.parametrize("device_identifier", ["", "   "])
def test_an_event_without_a_device_identifier_is_not_sendable(device_identifier):
    with pytest.raises(NotSendable, match="CleverTap does not process events without a device identifier"):
        build_attribution_url(**{**INSTALL, "device_identifier": device_identifier})


@pytest.mark.parametrize("event_type", [EventType.INORGANIC_INSTALL, EventType.ORGANIC_INSTALL])
def test_an_install_without_any_utm_is_not_sendable(event_type):
    no_utm = dict.fromkeys(("utm_source", "utm_medium", "utm_campaign"), " ")
    with pytest.raises(NotSendable, match="At least one of utm_source, utm_medium, utm_campaign is required"):
        build_attribution_url(**{**INSTALL, "event_type": event_type, **no_utm})


@pytest.mark.parametrize("utm", ["utm_source", "utm_medium", "utm_campaign"])
def test_an_install_with_one_utm_is_sendable(utm):
    others = dict.fromkeys({"utm_source", "utm_medium", "utm_campaign"} - {utm}, "")
    _, params = split(build_attribution_url(**{**INSTALL, **others}))
    assert params[utm] == INSTALL[utm]
    assert not set(others) & set(params)


@pytest.mark.parametrize("name", [None, "", "  "])
def test_a_custom_event_needs_a_name(name):
    with pytest.raises(NotSendable, match="A custom event needs a name"):
        build_attribution_url(**{**INSTALL, "event_type": EventType.CUSTOM, "custom_event_name": name})


@pytest.mark.parametrize(("field", "label"), [("partner_name", "partner name"), ("platform", "platform")])
def test_partner_name_and_platform_are_required(field, label):
    with pytest.raises(NotSendable, match=label):
        build_attribution_url(**{**INSTALL, field: ""})


def test_credentials_are_trimmed_of_spaces():
    assert clean_credential("  W6W-797-865Z \t", "Project ID") == "W6W-797-865Z"
    _, params = split(build_attribution_url(**{**INSTALL, "account_token": " aca-060 "}))
    assert params["account_token"] == "aca-060"


@pytest.mark.parametrize("value", ["W6W 797", "aca.060", "pass/word", "tok&en=1", "clé"])
def test_a_credential_with_other_characters_is_refused(value):
    with pytest.raises(ValidationError, match="may contain only letters, digits"):
        clean_credential(value, "Project Token")


def test_an_empty_credential_is_refused():
    with pytest.raises(ValidationError, match="Enter the CleverTap Project Passcode"):
        clean_credential("   ", "Project Passcode")


def test_an_event_with_a_malformed_credential_is_not_sendable():
    with pytest.raises(NotSendable, match="Project Passcode may contain only"):
        build_attribution_url(**{**INSTALL, "account_passcode": "1f81 b71b"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (INVALID_ACCOUNT, "Invalid Account Info"),
        (UTM_MISSING, "utm_source is missing"),
        ('{"status": "success"}', ""),
        ("<html>Bad gateway</html>", ""),
        ("", ""),
    ],
)
def test_parse_failure_reads_clevertaps_error(body, error):
    assert parse_failure(body) == error


def test_the_policy_follows_the_seed():
    assert POLICY.timeout == 60
    assert POLICY.outcome_for(200) == Outcome.DONE
    assert [POLICY.outcome_for(s) for s in (400, 401, 403)] == [Outcome.FAILED] * 3
    assert [POLICY.outcome_for(s) for s in (500, 502, 503, 504)] == [Outcome.RETRY] * 4


def test_a_401_from_clevertap_fails_at_once_with_its_reason(clevertap_here):
    clevertap_here.expect_request("/attribution").respond_with_data(
        INVALID_ACCOUNT, status=401, content_type="application/json"
    )

    result = send_event(build_attribution_url(**INSTALL))

    assert result.outcome == Outcome.FAILED
    assert result.status_code == 401
    assert result.response_start == INVALID_ACCOUNT
    assert result.error == "CleverTap answered 401: Invalid Account Info"
    assert "account_passcode=***" in result.url_masked
    assert "account_token=***" in result.url_masked
    assert len(clevertap_here.log) == 1
    assert clevertap_here.log[0][0].args["account_passcode"] == CREDENTIALS["account_passcode"]


def test_a_5xx_from_clevertap_is_retried(clevertap_here):
    clevertap_here.expect_request("/attribution").respond_with_data("Service Unavailable", status=503)
    result = send_event(build_attribution_url(**INSTALL))
    assert result.outcome == Outcome.RETRY
    assert result.error == "The receiver answered 503 SERVICE UNAVAILABLE."


def test_a_200_from_clevertap_is_done(clevertap_here):
    clevertap_here.expect_request("/attribution", method="GET").respond_with_data('{"status": "success"}')
    result = send_event(build_attribution_url(**INSTALL))
    assert result.outcome == Outcome.DONE
    assert result.error == ""

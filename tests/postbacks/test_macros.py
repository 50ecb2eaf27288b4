"""The macro rules of SPEC 3.2: validation of templates and rendering with values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from partners.macros import (
    MACRO_BY_NAME,
    MACROS,
    REPLACE_ME,
    errors_of,
    preview,
    render,
    sample_values,
    validate_template,
)

# The list of SPEC 3.2, in its order.
SPEC_MACROS = [
    "click_id", "partner_click_id", "ref_id", "sub1", "sub2", "sub3", "sub4", "sub5",
    "app_id", "app_name", "partner_name", "channel", "campaign_id", "campaign_name",
    "landing_id", "creative_id", "goal", "lead_id", "exto", "event_name", "status", "payout",
    "aff_payout", "revenue", "currency", "click_time", "conversion_time", "timestamp", "device_id",
    "idfa", "gaid", "android_id", "platform", "os", "device_type", "ip", "user_agent", "country",
    "language",
]  # fmt: skip

BASE = "https://partner.example/postback"


def _levels(template: str, **kwargs: bool) -> list[str]:
    return [p.level for p in validate_template(template, **kwargs)]


def _messages(template: str, **kwargs: bool) -> list[str]:
    return [p.message for p in validate_template(template, **kwargs)]


# Screening's addition (a rejection postback's reason), after the spec's list.
MACROS_AFTER_SPEC = ["reject_reason"]


def test_registry_has_exactly_the_macros_named_in_the_spec_then_the_reason_macro():
    assert [m.name for m in MACROS] == SPEC_MACROS + MACROS_AFTER_SPEC


def test_registry_is_indexed_by_name():
    assert list(MACRO_BY_NAME) == SPEC_MACROS + MACROS_AFTER_SPEC
    assert MACRO_BY_NAME["click_id"] is MACROS[0]


def test_every_macro_has_a_meaning_and_an_example():
    assert all(m.meaning.strip() and m.example.strip() for m in MACROS)


@pytest.mark.parametrize("macro", MACROS, ids=lambda m: m.name)
def test_every_macro_renders_its_example(macro):
    rendered = render(f"{BASE}?v={{{macro.name}}}", sample_values())
    assert rendered == f"{BASE}?v={quote(macro.example, safe='')}"


def test_a_template_of_known_macros_has_no_problems():
    assert validate_template(f"{BASE}?click={{click_id}}&payout={{payout}}&cur={{currency}}") == []


def test_an_unknown_macro_is_an_error_naming_it_and_the_nearest_known_names():
    [problem] = validate_template(f"{BASE}?click={{clickid}}")
    assert problem.level == "error"
    assert problem.macro == "clickid"
    assert "Unknown macro {clickid}" in problem.message
    assert "Did you mean {click_id}" in problem.message


def test_an_unknown_macro_with_no_near_name_is_an_error_without_suggestions():
    [message] = errors_of(f"{BASE}?t={{transaction_reference}}")
    assert "Unknown macro {transaction_reference}" in message
    assert "Did you mean" not in message


def test_an_unknown_macro_in_capitals_suggests_the_lowercase_name():
    [message] = errors_of(f"{BASE}?c={{CLICK_ID}}")
    assert "{click_id}" in message


@pytest.mark.parametrize(
    ("template", "word"),
    [
        (f"{BASE}?click=click_id", "click_id"),
        (f"{BASE}?status=status", "status"),
        (f"{BASE}?cid={{click_id}}&payout=payout", "payout"),
        (f"{BASE}?click=click_id#top", "click_id"),
    ],
)
def test_a_macro_name_without_braces_as_a_query_value_is_a_warning_sent_as_the_literal_text(template, word):
    [problem] = validate_template(template)
    assert problem.level == "warning"
    assert problem.macro == word
    assert f"sent as the literal text “{word}”" in problem.message
    assert f"={{{word}}}" in problem.message


def test_a_macro_name_without_braces_does_not_block_saving():
    assert errors_of(f"{BASE}?click=click_id&status=status") == []


def test_a_query_key_equal_to_a_macro_name_is_no_warning():
    assert validate_template(f"{BASE}?click_id={{click_id}}&status=approved") == []


def test_a_macro_name_inside_a_longer_query_value_is_no_warning():
    assert validate_template(f"{BASE}?note=my_click_id&s=status_code") == []


def test_a_macro_inside_a_longer_value_is_valid_and_rendered():
    template = f"{BASE}?sub=id_{{click_id}}_x"
    assert validate_template(template) == []
    assert render(template, {"click_id": "abc"}) == f"{BASE}?sub=id_abc_x"


def test_macros_in_the_path_and_the_fragment_are_valid_and_rendered():
    template = "https://partner.example/{app_id}/postback?c={click_id}#goal={goal}"
    assert validate_template(template) == []
    rendered = render(template, {"app_id": 12, "click_id": "abc", "goal": "install"})
    assert rendered == "https://partner.example/12/postback?c=abc#goal=install"


def test_replace_me_is_refused_outside_publisher_links():
    [problem] = validate_template(f"{BASE}?ref_id={{{REPLACE_ME}}}")
    assert problem.level == "error"
    assert "{replace_me} is only for tracking links shown to publishers" in problem.message


def test_replace_me_is_allowed_in_links_shown_to_publishers():
    link = "https://track.example/c/5FAC-D4E8?ref_id={replace_me}"
    assert validate_template(link, publisher_link=True) == []


def test_replace_me_is_left_in_place_for_the_publisher_to_replace():
    link = "https://track.example/c/5FAC-D4E8?ref_id={replace_me}&s={sub1}"
    assert preview(link) == "https://track.example/c/5FAC-D4E8?ref_id={replace_me}&s=site42"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("two words", "two%20words"),
        ("a&b=c", "a%26b%3Dc"),
        ("a/b", "a%2Fb"),
        ("?#+", "%3F%23%2B"),
        ("Köln ✓", "K%C3%B6ln%20%E2%9C%93"),
    ],
)
def test_values_are_url_encoded_when_substituted(value, encoded):
    assert render(f"{BASE}?s={{sub1}}", {"sub1": value}) == f"{BASE}?s={encoded}"


def test_a_macro_with_no_value_renders_empty():
    assert render(f"{BASE}?a={{sub1}}&b={{sub2}}", {"sub2": None}) == f"{BASE}?a=&b="


def test_numbers_render_as_their_text():
    assert render(f"{BASE}?lead={{lead_id}}&pay={{payout}}", {"lead_id": 7, "payout": 1.5}) == (
        f"{BASE}?lead=7&pay=1.5"
    )


def test_times_render_as_iso_8601_in_utc():
    berlin = timezone(timedelta(hours=1))
    values = {"click_time": datetime(2026, 1, 31, 13, 0, tzinfo=berlin)}
    assert render(f"{BASE}?t={{click_time}}", values) == f"{BASE}?t=2026-01-31T12%3A00%3A00Z"
    assert render(f"{BASE}?t={{click_time}}", {"click_time": datetime(2026, 1, 31, tzinfo=UTC)}) == (
        f"{BASE}?t=2026-01-31T00%3A00%3A00Z"
    )


def test_unknown_words_are_left_as_they_are_when_rendered():
    assert render(f"{BASE}?x={{nope}}", sample_values()) == f"{BASE}?x={{nope}}"


@pytest.mark.parametrize("template", ["", "   "])
def test_an_empty_template_is_an_error(template):
    assert errors_of(template) == ["Enter a URL."]


@pytest.mark.parametrize(
    "template",
    [
        "partner.example/postback?c={click_id}",
        "/postback?c={click_id}",
        "ftp://partner.example/postback",
        "https:///postback?c={click_id}",
        "http://[::1",
        "click_id",
    ],
)
def test_a_template_that_is_not_a_full_http_url_is_an_error(template):
    assert any("Enter a full URL" in message for message in errors_of(template))


@pytest.mark.parametrize(
    "template",
    [f"{BASE}?c={{click_id", f"{BASE}?c=click_id}}", f"{BASE}?c=}}click_id{{", f"{BASE}?c={{a{{click_id}}"],
)
def test_unbalanced_braces_are_an_error(template):
    assert any("Unbalanced braces" in message for message in errors_of(template))


def test_double_braces_are_an_error_showing_the_single_brace_form():
    [problem] = validate_template(f"{BASE}?c={{{{click_id}}}}")
    assert problem.level == "error"
    assert "{{click_id}} has double braces: write a macro as {click_id}" in problem.message


def test_empty_braces_are_an_error():
    [message] = errors_of(f"{BASE}?c={{}}")
    assert message.startswith("Empty braces {}")


def test_spaces_inside_braces_are_a_warning_and_the_macro_still_renders():
    template = f"{BASE}?c={{ click_id }}"
    assert _levels(template) == ["warning"]
    assert "it is read as {click_id}" in _messages(template)[0]
    assert render(template, {"click_id": "abc"}) == f"{BASE}?c=abc"


def test_each_problem_is_reported_once():
    assert len(errors_of(f"{BASE}?a={{clickid}}&b={{clickid}}")) == 1


def test_problems_are_errors_before_warnings_of_the_same_template():
    assert _levels(f"{BASE}?a={{clickid}}&s=status") == ["error", "warning"]


def test_errors_of_leaves_out_warnings():
    assert errors_of(f"{BASE}?s=status&c={{clikc_id}}") == _messages(f"{BASE}?c={{clikc_id}}")

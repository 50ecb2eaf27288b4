"""The outbound sending core: one attempt against a real local receiver, its outcome, the backoff."""

from __future__ import annotations

import random
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug import Response

from postbacks.outbound import (
    POLICIES,
    RESPONSE_START_BYTES,
    AttemptResult,
    Outcome,
    RetryPolicy,
    mask_url,
    next_delay,
    send,
    should_retry,
)

FAST = RetryPolicy(timeout=2, max_attempts=6, base_delay=0.01, max_delay=0.05, jitter=0.5)


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    """The receiver is on 127.0.0.1, as in `make run`."""
    settings.OUTBOUND_ALLOW_PRIVATE = True


def deliver(url: str, policy: RetryPolicy) -> list[AttemptResult]:
    """What the delivery task will do: attempt, wait as told, until done, failed or out of attempts."""
    attempts: list[AttemptResult] = []
    while True:
        result = send(url, policy=policy)
        attempts.append(result)
        if not should_retry(policy, result, len(attempts)):
            return attempts
        time.sleep(next_delay(policy, len(attempts), retry_after=result.retry_after))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("failures", [1, 3])
def test_server_errors_are_retried_until_the_receiver_answers_200(httpserver, failures):
    for _ in range(failures):
        httpserver.expect_ordered_request("/pb").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/pb").respond_with_data("ok")

    attempts = deliver(httpserver.url_for("/pb"), FAST)

    assert [a.outcome for a in attempts] == [Outcome.RETRY] * failures + [Outcome.DONE]
    assert [a.status_code for a in attempts] == [503] * failures + [200]
    assert len(httpserver.log) == failures + 1
    httpserver.check_assertions()


def test_retries_stop_after_the_policys_last_attempt(httpserver):
    httpserver.expect_request("/pb").respond_with_data("down", status=500)
    attempts = deliver(httpserver.url_for("/pb"), replace(FAST, max_attempts=3))
    assert len(attempts) == 3
    assert len(httpserver.log) == 3


def test_too_many_requests_is_retried(httpserver):
    httpserver.expect_request("/pb").respond_with_data("slow down", status=429)
    assert send(httpserver.url_for("/pb"), policy=FAST).outcome == Outcome.RETRY


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_fail_after_one_attempt(httpserver, status):
    httpserver.expect_request("/pb").respond_with_data("no", status=status)

    attempts = deliver(httpserver.url_for("/pb"), FAST)

    assert len(attempts) == 1
    assert attempts[0].outcome == Outcome.FAILED
    assert attempts[0].status_code == status
    assert str(status) in attempts[0].error
    assert len(httpserver.log) == 1


def test_a_receiver_slower_than_the_timeout_is_cut_off(httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/pb").respond_with_handler(slow)

    result = send(httpserver.url_for("/pb"), policy=replace(FAST, timeout=0.3))

    assert result.outcome == Outcome.RETRY
    assert result.status_code is None
    assert result.error == "No answer within 0.3 seconds."
    assert result.duration_ms < 900


def test_a_receiver_that_refuses_connections_is_retried():
    result = send(f"http://127.0.0.1:{closed_port()}/pb?token=s3cr3t", policy=FAST)
    assert result.outcome == Outcome.RETRY
    assert result.status_code is None
    assert result.error == "Could not connect to the receiver: Connection refused."


def test_a_redirect_is_a_failure_and_its_target_is_never_called(httpserver):
    target = httpserver.url_for("/target")
    httpserver.expect_request("/pb").respond_with_data("", status=302, headers={"Location": target})
    httpserver.expect_request("/target").respond_with_data("should not be reached")

    result = send(httpserver.url_for("/pb"), policy=FAST)

    assert result.outcome == Outcome.FAILED
    assert result.status_code == 302
    assert f"redirect to {target}" in result.error
    assert [request.path for request, _ in httpserver.log] == ["/pb"]


def test_a_success_records_status_body_and_duration(httpserver):
    httpserver.expect_request("/pb").respond_with_data('{"ok": true}', content_type="application/json")
    result = send(httpserver.url_for("/pb"), policy=FAST)
    assert result == AttemptResult(
        url_masked=httpserver.url_for("/pb"),
        outcome=Outcome.DONE,
        status_code=200,
        duration_ms=result.duration_ms,
        response_start='{"ok": true}',
    )


def test_post_is_sent_when_asked(httpserver):
    httpserver.expect_request("/pb", method="POST").respond_with_data("ok")
    assert send(httpserver.url_for("/pb"), policy=FAST, method="POST").outcome == Outcome.DONE


def test_the_response_start_is_the_first_kilobyte_of_the_body(httpserver):
    httpserver.expect_request("/pb").respond_with_data("a" * 5000)
    result = send(httpserver.url_for("/pb"), policy=FAST)
    assert result.response_start == "a" * RESPONSE_START_BYTES


def test_the_response_start_does_not_cut_a_character_in_half(httpserver):
    body = "xé" * 1000  # 3 bytes a pair: the 1 kB mark falls between the two bytes of an é
    httpserver.expect_request("/pb").respond_with_data(body, content_type="text/plain; charset=utf-8")
    result = send(httpserver.url_for("/pb"), policy=FAST)
    assert result.response_start == body[:683]
    assert "\ufffd" not in result.response_start


def test_secrets_are_masked_in_the_recorded_url_but_sent_to_the_receiver(httpserver):
    httpserver.expect_request("/pb").respond_with_data("ok")
    url = httpserver.url_for("/pb?click=c1&token=t0k&account_passcode=p4ss&api_key=k3y")

    result = send(url, policy=FAST)

    assert result.url_masked == httpserver.url_for("/pb?click=c1&token=***&account_passcode=***&api_key=***")
    request = httpserver.log[0][0]
    assert request.args["token"] == "t0k"


def test_a_network_error_does_not_reveal_secrets():
    result = send(f"http://127.0.0.1:{closed_port()}/pb?token=s3cr3t", policy=FAST)
    assert "s3cr3t" not in result.error
    assert "s3cr3t" not in result.url_masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://p.example/pb?token=a&passcode=b&account_passcode=c&account_token=d",
            "https://p.example/pb?token=***&passcode=***&account_passcode=***&account_token=***",
        ),
        (
            "https://p.example/pb?secret=a&password=b&key=c&api_key=d&click=e",
            "https://p.example/pb?secret=***&password=***&key=***&api_key=***&click=e",
        ),
        ("https://p.example/pb?Auth_Token=a&TOKEN=b", "https://p.example/pb?Auth_Token=***&TOKEN=***"),
        ("https://p.example/pb?token=&click=1", "https://p.example/pb?token=&click=1"),
        ("https://u:pw@p.example/pb", "https://u:***@p.example/pb"),
        ("https://p.example/pb?click={click_id}", "https://p.example/pb?click={click_id}"),
    ],
)
def test_mask_url_hides_secret_values(url, masked):
    assert mask_url(url) == masked


def test_retry_after_in_seconds_is_honoured(httpserver):
    httpserver.expect_request("/pb").respond_with_data("busy", status=503, headers={"Retry-After": "2"})
    result = send(httpserver.url_for("/pb"), policy=FAST)
    policy = POLICIES["partner"]
    assert result.retry_after == "2"
    assert next_delay(policy, 1, retry_after=result.retry_after) == 2.0
    assert next_delay(policy, 5, retry_after=result.retry_after) == 2.0


def test_retry_after_as_an_http_date_is_honoured():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 115 <= next_delay(POLICIES["partner"], 1, retry_after=when) <= 120


def test_retry_after_is_capped_by_the_policys_longest_delay():
    policy = POLICIES["partner"]
    assert next_delay(policy, 1, retry_after="999999") == policy.max_delay


def test_retry_after_is_ignored_when_the_policy_says_so_or_it_is_unreadable():
    policy = replace(POLICIES["partner"], honour_retry_after=False, jitter=0)
    assert next_delay(policy, 1, retry_after="2") == policy.base_delay
    assert next_delay(replace(policy, honour_retry_after=True), 1, retry_after="soon") == policy.base_delay


@pytest.mark.parametrize("name", ["partner", "publisher", "status_sync", "clevertap"])
def test_backoff_doubles_within_the_jitter_bounds(name):
    policy = POLICIES[name]
    rng = random.Random(7)
    for attempt in range(1, policy.max_attempts + 3):
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        delays = [next_delay(policy, attempt, rng=rng) for _ in range(500)]
        assert all(ceiling * (1 - policy.jitter) <= d <= ceiling for d in delays)
        # The jitter really spreads the delays over its band.
        assert max(delays) - min(delays) > ceiling * policy.jitter * 0.8


def test_the_time_scale_setting_compresses_delays(settings):
    settings.OUTBOUND_TIME_SCALE = 0.001
    policy = replace(POLICIES["partner"], jitter=0)
    assert next_delay(policy, 1) == pytest.approx(policy.base_delay * 0.001)
    assert next_delay(policy, 1, retry_after="2") == pytest.approx(0.002)


def test_every_destination_kind_has_a_policy_with_cleartaps_60_second_timeout():
    assert set(POLICIES) == {"partner", "publisher", "status_sync", "clevertap"}
    assert POLICIES["clevertap"].timeout == 60
    assert all(p.timeout > 0 and p.max_attempts > 1 for p in POLICIES.values())


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "done"), (204, "done"), (301, "failed"), (400, "failed"), (429, "retry"), (500, "retry")],
)
def test_the_policy_decides_the_outcome_of_a_status(status, outcome):
    assert POLICIES["partner"].outcome_for(status) == outcome

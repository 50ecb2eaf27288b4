"""`make chaos`'s verdict: which answers break SPEC 4's "nothing that arrives is lost"."""

from __future__ import annotations

from bench.chaos.verdict import Answer, Arrival, judge, judge_deliveries, judge_replays


def test_a_2xx_with_its_lead_and_a_logged_refusal_break_no_promise():
    answers = [Answer("k-1", 200), Answer("k-2", 503), Answer("k-3", 422)]

    verdict = judge(answers, leads={"k-1": 1}, logged={"k-2": "failed", "k-3": "rejected"})

    assert verdict.problems() == []


def test_an_html_500_missing_from_the_inbound_log_is_a_request_lost_without_a_trace():
    answers = [Answer("k-1", 200), Answer("k-2", 500, html=True)]

    verdict = judge(answers, leads={"k-1": 1}, logged={})

    assert verdict.problems() == [
        "1 non-2xx answers are not in the inbound log as rejected or failed: k-2",
        "1 answers were HTML, not JSON: k-2",
    ]
    assert verdict.html_answers == 1


def test_a_refusal_logged_with_an_outcome_that_cannot_be_replayed_is_reported():
    verdict = judge([Answer("k-1", 500)], leads={}, logged={"k-1": "created"})

    assert verdict.refused_without_log == ["k-1"]


def test_a_request_without_any_http_answer_is_reported():
    verdict = judge([Answer("k-1", None, error="ReadTimeout")], leads={}, logged={})

    assert verdict.problems() == ["1 requests got no HTTP answer: k-1"]
    assert verdict.by_status == {"none": 1}


def test_a_2xx_answer_whose_lead_is_missing_is_reported():
    verdict = judge([Answer("k-1", 200), Answer("k-2", 201)], leads={"k-2": 1}, logged={})

    assert verdict.ok_without_one_lead == ["k-1"]


def test_a_key_with_two_leads_is_reported_even_when_its_answer_was_a_refusal():
    verdict = judge([Answer("k-1", 503)], leads={"k-1": 2}, logged={"k-1": "failed"})

    assert verdict.problems() == ["1 keys have more than one lead: k-1"]


def test_answers_are_counted_by_status_code():
    answers = [Answer("a", 200), Answer("b", 200), Answer("c", 503), Answer("d", None)]

    verdict = judge(answers, leads={"a": 1, "b": 1}, logged={"c": "failed"})

    assert verdict.by_status == {"200": 2, "503": 1, "none": 1}


def test_a_problem_names_five_keys_at_most():
    answers = [Answer(f"k-{n}", 500) for n in range(7)]

    (problem,) = judge(answers, leads={}, logged={}).problems()

    assert problem == (
        "7 non-2xx answers are not in the inbound log as rejected or failed: k-0, k-1, k-2, k-3, k-4, …"
    )


def test_refusals_replayed_into_one_lead_each_break_no_promise():
    assert judge_replays(["k-1", "k-2"], replayed={"k-1": "", "k-2": ""}, leads={"k-1": 1, "k-2": 1}) == []


def test_a_refusal_without_a_log_row_cannot_be_replayed():
    problems = judge_replays(["k-1"], replayed={}, leads={})

    assert problems == [
        "1 non-2xx answers could not be replayed: k-1 (not in the log)",
        "1 keys have no single lead after replay: k-1",
    ]


def test_a_replay_the_api_refused_is_reported_with_its_answer():
    problems = judge_replays(["k-1"], replayed={"k-1": "replay answered HTTP 409"}, leads={})

    assert problems[0] == "1 non-2xx answers could not be replayed: k-1 (replay answered HTTP 409)"


def test_an_html_answer_breaks_the_promise_whatever_its_status():
    answers = [Answer(exto="k1", status=200, html=True)]

    verdict = judge(answers, leads={"k1": 1}, logged={})

    assert verdict.problems() == ["1 answers were HTML, not JSON: k1"]


def test_deliveries_retried_after_503_and_resent_after_the_kill_with_their_keys_break_no_promise():
    arrivals = [
        Arrival("m-1", 1.0, 503),
        Arrival("m-1", 2.0, 200),
        Arrival("m-2", 3.0, 200),
        Arrival("m-2", 20.0, 200),
    ]

    verdict = judge_deliveries(
        arrivals,
        states={"m-1": "done", "m-2": "done"},
        outstanding=["m-2"],
        restarted_at=5.0,
        in_doubt_attempts=1,
    )

    assert verdict.problems() == []
    assert (verdict.calls, verdict.failed_calls, verdict.repeats_after_success) == (4, 1, 1)
    assert (verdict.resumed_after, verdict.arrived_after) == (15.0, 15.0)


def test_a_delivery_called_again_too_late_or_never_arrived_or_sent_without_its_key_is_reported():
    arrivals = [Arrival("m-1", 70.0, 200), Arrival("", 71.0, 200)]

    verdict = judge_deliveries(
        arrivals,
        states={"m-1": "done", "m-2": "pending"},
        outstanding=["m-1"],
        restarted_at=5.0,
        in_doubt_attempts=0,
    )

    assert verdict.problems() == [
        "1 deliveries never got a 200 from the receiver: m-2",
        "1 deliveries are not done: m-2",
        "1 calls carried a key that is no delivery's (no receiver could dedupe them): (none)",
        "1 outstanding deliveries were not called again within 60 s: m-1",
    ]

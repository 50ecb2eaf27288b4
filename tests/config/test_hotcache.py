"""The hot-path cache: near copy, then Redis, then the loader; a Redis error is never the caller's."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from config import breaker, hotcache

KEY = "test:hot:key"


class Loader:
    """A loader that counts its calls."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


@pytest.fixture
def redis_calls(monkeypatch) -> list[str]:
    """Make every cache call fail as a Redis that refuses connections does; the list counts them."""
    calls: list[str] = []

    def failing(name: str):
        def call(*args, **kwargs):
            calls.append(name)
            raise RedisConnectionError("Error 111 connecting. Connection refused.")

        return call

    for name in ("get", "set", "delete_many"):
        monkeypatch.setattr(hotcache.cache, name, failing(name))
    return calls


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The breaker's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(breaker.time, "monotonic", lambda: now[0])
    return now


def test_a_value_is_loaded_once_then_served_from_the_process():
    load = Loader({"a": 1})

    first = hotcache.cached(KEY, load, seconds=60)
    second = hotcache.cached(KEY, load, seconds=60)

    assert first == second == {"a": 1}
    assert load.calls == 1
    assert cache.get(KEY) == {"a": 1}


def test_a_loader_answering_none_is_asked_again_next_time():
    load = Loader(None)

    hotcache.cached(KEY, load, seconds=60)
    hotcache.cached(KEY, load, seconds=60)

    assert load.calls == 2
    assert cache.get(KEY) is None


def test_an_empty_answer_is_cached_as_known_missing():
    load = Loader({})

    hotcache.cached(KEY, load, seconds=60, empty_seconds=5)
    hotcache.clear()
    answer = hotcache.cached(KEY, load, seconds=60, empty_seconds=5)

    assert answer == {}
    assert load.calls == 1


def test_a_redis_error_falls_back_to_the_loader(redis_calls):
    answer = hotcache.cached(KEY, Loader("from the database"), seconds=60)

    assert answer == "from the database"
    assert redis_calls == ["get"]


def test_the_breaker_skips_redis_within_the_window(redis_calls, clock):
    hotcache.cached(KEY, Loader(1), seconds=60)
    hotcache.clear()
    clock[0] += 4.9

    answer = hotcache.cached(KEY, Loader(2), seconds=60)

    assert answer == 2
    assert redis_calls == ["get"]


def test_redis_is_tried_again_after_the_window(redis_calls, clock):
    hotcache.cached(KEY, Loader(1), seconds=60)
    hotcache.clear()
    clock[0] += 5.1

    hotcache.cached(KEY, Loader(2), seconds=60)

    assert redis_calls == ["get", "get"]


def test_a_redis_that_answers_again_is_used_after_the_window(monkeypatch, clock):
    monkeypatch.setattr(hotcache.cache, "get", _refused)
    hotcache.cached(KEY, Loader(1), seconds=60)
    monkeypatch.undo()
    hotcache.clear()
    clock[0] += 5.1

    hotcache.cached(KEY, Loader(2), seconds=60)

    assert cache.get(KEY) == 2


def test_forgetting_while_redis_is_down_does_not_raise_and_is_done_once_it_is_back(db, monkeypatch, clock):
    cache.set(KEY, "old")
    monkeypatch.setattr(hotcache.cache, "delete_many", _refused)
    hotcache.forget([KEY])
    monkeypatch.undo()
    clock[0] += 5.1

    answer = hotcache.cached(KEY, Loader("new"), seconds=60)

    assert answer == "new"


def test_guarded_answers_the_default_when_redis_fails(clock):
    calls = []

    def count() -> int:
        calls.append(1)
        raise RedisConnectionError("refused")

    first = hotcache.guarded(count, default=-1)
    second = hotcache.guarded(count, default=-1)

    assert (first, second, len(calls)) == (-1, -1, 1)


def _refused(*args, **kwargs):
    raise RedisConnectionError("Error 111 connecting. Connection refused.")

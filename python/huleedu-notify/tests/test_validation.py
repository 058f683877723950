"""Bad input is refused before anything reaches Redis, with an error naming what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from conftest import RedisServer, Subscriber

from huleedu_notify import NotificationValidationError, Notifier, NotifierConfigError, HistoryOptions

GOOD: dict[str, Any] = {"batch_id": "b1", "results_count": 3, "message": "Results are ready"}


@pytest.fixture()
def notifier(redis_server: RedisServer) -> Iterator[Notifier]:
    with Notifier(redis_server.url) as created:
        yield created


def refused(call: Any) -> NotificationValidationError:
    with pytest.raises(NotificationValidationError) as caught:
        call()
    return caught.value


def assert_nothing_reached_redis(server: RedisServer, subscriber: Subscriber, user: str) -> None:
    assert server.client().keys(f"{{ws:{user}}}*") == []
    assert subscriber.poll() == []


def test_a_misspelt_type_names_the_closest_known_types(
    notifier: Notifier, redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:v-type")
    error = refused(lambda: notifier.publish_user_notification("v-type", "batch_result_ready", GOOD))  # type: ignore[call-overload]
    assert error.code == "unknown_type"
    assert 'unknown notification type "batch_result_ready"; did you mean batch_results_ready' in str(error)
    assert_nothing_reached_redis(redis_server, subscriber, "v-type")


def test_a_bad_field_names_the_field_what_it_got_and_what_it_accepts(
    notifier: Notifier, redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:v-field")
    data = {**GOOD, "results_count": "three"}
    error = refused(lambda: notifier.publish_user_notification("v-field", "batch_results_ready", data))  # type: ignore[call-overload]
    assert error.code == "invalid_payload"
    assert str(error) == (
        'batch_results_ready: data.results_count: expected a whole number >= 0, got "three"'
    )
    assert_nothing_reached_redis(redis_server, subscriber, "v-field")


def test_an_unknown_field_is_named_with_the_closest_known_one_and_the_type_fields(notifier: Notifier) -> None:
    data = {**GOOD, "clas_id": "c1"}
    error = refused(lambda: notifier.publish_user_notification("v", "batch_results_ready", data))  # type: ignore[call-overload]
    assert "data.clas_id: unknown field (did you mean class_id?)" in str(error)
    assert "the fields of batch_results_ready are batch_id, class_id, message, results_count" in str(error)
    assert error.issues[0] == "data.clas_id: unknown field (did you mean class_id?)"


def test_every_problem_is_reported_at_once(notifier: Notifier) -> None:
    data = {"batch_id": "", "results_count": -1, "class_id": 7}
    error = refused(lambda: notifier.publish_user_notification("v", "batch_results_ready", data))  # type: ignore[call-overload]
    assert error.issues == [
        'data.batch_id: expected a non-empty string, got ""',
        "data.class_id: expected a non-empty string or null, got 7",
        "data.message: missing (expected a string)",
        "data.results_count: expected a whole number >= 0, got -1",
    ]


def test_shared_fields_come_from_the_options(notifier: Notifier) -> None:
    error = refused(
        lambda: notifier.publish_user_notification("v", "batch_results_ready", {**GOOD, "priority": "low"})  # type: ignore[call-overload]
    )
    assert str(error) == "batch_results_ready: data.priority: set by the notifier, pass priority=... instead"
    bad_option = refused(
        lambda: notifier.publish_user_notification("v", "batch_results_ready", GOOD, priority="urgent")  # type: ignore[call-overload]
    )
    assert 'data.priority: expected one of critical|immediate|high|standard|low, got "urgent"' in str(bad_option)
    naive = refused(
        lambda: notifier.publish_user_notification(  # type: ignore[call-overload]
            "v", "batch_results_ready", GOOD, deadline=datetime(2026, 1, 1, 12, 0)
        )
    )
    assert "data.deadline: a datetime without a time zone" in str(naive)


@pytest.mark.parametrize("event", ["ws.resync", "ws.synced", "ws.disconnect", "ws.anything"])
def test_ws_events_are_reserved_for_the_service(
    notifier: Notifier, redis_server: RedisServer, subscriber: Subscriber, event: str
) -> None:
    subscriber.subscribe("ws:v-ws")
    envelope = {"event": event, "data": {"reason": "history_lost", "position": 0, "epoch": None}}
    error = refused(lambda: notifier.publish("v-ws", envelope))
    assert error.code == "invalid_payload"
    assert ("reserved for the service" in str(error)) or ("use disconnect_user" in str(error))
    assert_nothing_reached_redis(redis_server, subscriber, "v-ws")


@pytest.mark.parametrize("field", ["position", "epoch", "published_ms", "extra"])
def test_a_prebuilt_envelope_carries_only_event_data_and_id(notifier: Notifier, field: str) -> None:
    error = refused(lambda: notifier.publish("v", {"event": "custom", "data": {}, field: 1}))
    assert f"custom: {field}:" in str(error)


def test_a_prebuilt_catalogue_envelope_needs_complete_data(notifier: Notifier) -> None:
    error = refused(lambda: notifier.publish("v", {"event": "batch_results_ready", "data": GOOD}))
    assert "data.category: missing (expected one of batch_progress|" in str(error)
    shape = refused(lambda: notifier.publish("v", {"event": "custom", "data": [1]}))
    assert str(shape) == "custom: data: expected an object, got a list"


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("", "userId must not be empty"),
        ("a b", 'userId contains " "'),
        ("a*", 'userId contains "*"'),
        ("x" * 257, "userId too long (257 characters, maximum 256)"),
        ("a}b", 'userId contains "}"'),
        (7, "userId expected a string, got int"),
    ],
)
def test_user_ids_are_checked(notifier: Notifier, user_id: Any, message: str) -> None:
    error = refused(lambda: notifier.publish_user_notification(user_id, "batch_results_ready", GOOD))  # type: ignore[call-overload]
    assert error.code == "invalid_user_id"
    assert message in str(error)


def test_idempotency_keys_are_checked(notifier: Notifier) -> None:
    for key, message in [("", "must not be empty"), ("a b", 'contains " "'), ("k" * 201, "too long")]:
        error = refused(
            lambda: notifier.publish_user_notification("v", "batch_results_ready", GOOD, idempotency_key=key)  # type: ignore[call-overload]
        )
        assert error.code == "invalid_idempotency_key"
        assert message in str(error)
    no_history = refused(
        lambda: notifier.publish_user_notification(
            "v", "batch_results_ready", GOOD, idempotency_key="k", history=False  # type: ignore[call-overload]
        )
    )
    assert "needs the history" in str(no_history)


def test_options_are_checked_when_the_notifier_is_created(redis_server: RedisServer) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"publish_mode": "fanout"}, "publish_mode must be one of classic, sharded, both"),
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        ({"channel_prefix": "a b"}, "channel_prefix contains"),
        ({"max_token_lifetime_seconds": 0}, "max_token_lifetime_seconds must be a whole number"),
    ]
    for options, message in cases:
        with pytest.raises(NotifierConfigError, match=message):
            Notifier(redis_server.url, **options)
    with pytest.raises(NotifierConfigError, match=r"history.ttl_seconds: expected a whole number of seconds from 1 to 2592000, got 86400000"):
        HistoryOptions(ttl_seconds=86_400_000)
    with pytest.raises(NotifierConfigError, match="expected a redis:// or rediss:// URL"):
        Notifier("http://localhost:6379")

"""Publishing against a real redis-server: positioned, stored, replayable, retry-safe."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from conftest import RedisServer, Subscriber
from jsonschema import Draft202012Validator

from huleedu_notify import AsyncNotifier, HistoryOptions, Notifier, protocol_schema

GOOD: Any = {"batch_id": "b1", "results_count": 3, "message": "Results are ready"}


def history(server: RedisServer, user: str) -> list[tuple[str, dict[str, Any]]]:
    entries = server.client().xrange(f"{{ws:{user}}}:history")
    return [(entry_id.decode(), json.loads(fields[b"m"])) for entry_id, fields in entries]


def test_publishes_a_positioned_catalogue_notification_that_clients_accept(
    redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:p-teacher")
    with Notifier(redis_server.url) as notifier:
        result = notifier.publish_user_notification("p-teacher", "batch_results_ready", GOOD)
    assert result.position == 1
    assert result.receivers == 1
    assert result.duplicate is False
    assert result.epoch is not None and len(result.epoch) == 16
    assert uuid.UUID(result.id).version == 4

    [(channel, text)] = subscriber.next_message()
    assert channel == "ws:p-teacher"
    message = json.loads(text)
    assert list(message) == ["position", "epoch", "published_ms", "event", "data", "id"]
    assert text.startswith(f'{{"position":1,"epoch":"{result.epoch}","published_ms":{message["published_ms"]},')
    # Redis's clock, in milliseconds since the Unix epoch.
    assert abs(message["published_ms"] - time.time() * 1000) < 60_000
    assert message["data"]["category"] == "processing_results"
    assert message["data"]["priority"] == "high"
    assert message["data"]["deadline"] is None
    assert message["data"]["timestamp"].endswith("Z")
    # What a client checks: the protocol's schema (envelope plus the type's data).
    assert list(Draft202012Validator(protocol_schema()).iter_errors(message)) == []
    # Stored exactly as published, for replay.
    assert history(redis_server, "p-teacher") == [("1-0", message)]


def test_options_fill_the_shared_fields(redis_server: RedisServer) -> None:
    with Notifier(redis_server.url) as notifier:
        notifier.publish_user_notification(
            "p-options",
            "batch_results_ready",
            GOOD,
            priority="low",
            action_required=True,
            deadline=datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc),
            correlation_id="req-7",
            timestamp="2026-11-21T09:00:00Z",
        )
    [(_, message)] = history(redis_server, "p-options")
    assert {key: message["data"][key] for key in ("priority", "action_required", "deadline", "correlation_id", "timestamp")} == {
        "priority": "low",
        "action_required": True,
        "deadline": "2026-11-22T10:00:00.000Z",
        "correlation_id": "req-7",
        "timestamp": "2026-11-21T09:00:00Z",
    }


def test_an_idempotent_retry_publishes_nothing_and_reports_the_first_publish(
    redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:p-retry")
    with Notifier(redis_server.url) as notifier:
        first = notifier.publish_user_notification("p-retry", "batch_results_ready", GOOD, idempotency_key="batch-1:results")
        retry = notifier.publish_user_notification("p-retry", "batch_results_ready", GOOD, idempotency_key="batch-1:results")
    assert first.duplicate is False and first.position == 1
    assert retry.duplicate is True
    assert (retry.id, retry.position, retry.epoch, retry.receivers) == (first.id, 1, first.epoch, 0)
    assert uuid.UUID(first.id).version == 5
    assert len(subscriber.next_message()) == 1
    assert len(history(redis_server, "p-retry")) == 1
    ttl = redis_server.client().ttl("{ws:p-retry}:idem:batch-1:results")
    assert 86_000 < ttl <= 86_400


def test_history_is_trimmed_to_its_length_and_expires_after_its_ttl(redis_server: RedisServer) -> None:
    retention = HistoryOptions(max_length=3, ttl_seconds=120)
    with Notifier(redis_server.url, history=retention) as notifier:
        results = [notifier.publish("p-trim", {"event": "tick", "data": {"n": n}}) for n in range(5)]
    assert [result.position for result in results] == [1, 2, 3, 4, 5]
    assert [(entry_id, message["data"]["n"]) for entry_id, message in history(redis_server, "p-trim")] == [
        ("3-0", 2),
        ("4-0", 3),
        ("5-0", 4),
    ]
    client = redis_server.client()
    for key in ("{ws:p-trim}:history", "{ws:p-trim}:meta"):
        assert 0 < client.ttl(key) <= 120


def test_a_prebuilt_envelope_keeps_its_id_unless_an_idempotency_key_derives_one(redis_server: RedisServer) -> None:
    with Notifier(redis_server.url) as notifier:
        own = notifier.publish("p-raw", {"event": "essay_annotated", "data": {"essay_id": "e1"}, "id": "m-1"})
        keyed = notifier.publish("p-raw", {"event": "essay_annotated", "data": {}}, idempotency_key="k1")
    assert own.id == "m-1"
    assert keyed.id == str(uuid.uuid5(uuid.UUID("5c3f0e6a-8b1d-4f2e-9a7c-6b5d4e3f2a1b"), "ws:p-raw\nk1"))
    assert [message["id"] for _, message in history(redis_server, "p-raw")] == ["m-1", keyed.id]


def test_without_history_it_publishes_live_only(redis_server: RedisServer, subscriber: Subscriber) -> None:
    subscriber.subscribe("ws:p-live")
    with Notifier(redis_server.url, history=False) as notifier:
        result = notifier.publish_user_notification("p-live", "batch_results_ready", GOOD)
    assert (result.position, result.epoch, result.receivers) == (None, None, 1)
    [(_, text)] = subscriber.next_message()
    assert json.loads(text)["event"] == "batch_results_ready"
    assert redis_server.client().exists("{ws:p-live}:history") == 0


def test_sharded_mode_spublishes(redis_server: RedisServer, subscriber: Subscriber) -> None:
    subscriber.subscribe("ws:p-sharded", sharded=True)
    with Notifier(redis_server.url, publish_mode="sharded") as notifier:
        assert notifier.publish_user_notification("p-sharded", "batch_results_ready", GOOD).receivers == 1
    assert len(subscriber.next_message()) == 1


def test_disconnect_user_publishes_the_command_and_keeps_the_revocation(
    redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:p-gone")
    now = int(time.time())
    with Notifier(redis_server.url, max_token_lifetime_seconds=3600) as notifier:
        assert notifier.disconnect_user("p-gone", reason="password_changed", issued_before=now) == 1
    [(_, text)] = subscriber.next_message()
    assert json.loads(text) == {"event": "ws.disconnect", "data": {"reason": "password_changed", "issued_before": now}}
    client = redis_server.client()
    assert client.get("{ws:p-gone}:revoked_before") == str(now).encode()
    assert 3600 < client.ttl("{ws:p-gone}:revoked_before") <= 3600 + 300


def test_the_async_notifier_does_the_same(redis_server: RedisServer, subscriber: Subscriber) -> None:
    subscriber.subscribe("ws:p-async")

    async def main() -> tuple[Any, Any, Any, int]:
        async with AsyncNotifier(redis_server.url) as notifier:
            first = await notifier.publish_user_notification("p-async", "batch_results_ready", GOOD, idempotency_key="a1")
            retry = await notifier.publish_user_notification("p-async", "batch_results_ready", GOOD, idempotency_key="a1")
            raw = await notifier.publish("p-async", {"event": "tick", "data": {}})
            gone = await notifier.disconnect_user("p-async", reason="logout")
            return first, retry, raw, gone

    first, retry, raw, gone = asyncio.run(main())
    assert (first.position, first.duplicate, first.receivers) == (1, False, 1)
    assert (retry.position, retry.duplicate, retry.id) == (1, True, first.id)
    assert raw.position == 2
    assert gone == 1
    events = [json.loads(text)["event"] for _, text in subscriber.next_message(3)]
    assert events == ["batch_results_ready", "tick", "ws.disconnect"]


def test_history_false_on_one_call_publishes_it_live_only(redis_server: RedisServer, subscriber: Subscriber) -> None:
    subscriber.subscribe("ws:p-once")
    with Notifier(redis_server.url) as notifier:
        live = notifier.publish("p-once", {"event": "typing", "data": {}}, history=False)
        stored = notifier.publish("p-once", {"event": "tick", "data": {}})
    assert (live.position, live.receivers) == (None, 1)
    assert stored.position == 1
    assert [json.loads(text)["event"] for _, text in subscriber.next_message(2)] == ["typing", "tick"]
    assert [message["event"] for _, message in history(redis_server, "p-once")] == ["tick"]

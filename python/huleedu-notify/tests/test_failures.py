"""Redis down, frozen or refusing: a PublishError with a reason, within the notifier's timeout."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import RedisServer, free_port

from huleedu_notify import AsyncNotifier, Notifier, PublishError

GOOD: Any = {"batch_id": "b1", "results_count": 3, "message": "Results are ready"}
# Generous: the point is that a call ends (no hang, no silent drop), not how fast.
BOUND_SECONDS = 20.0


def failure(call: Callable[[], Any]) -> tuple[PublishError, float]:
    started = time.monotonic()
    with pytest.raises(PublishError) as caught:
        call()
    return caught.value, time.monotonic() - started


def publish_sync(url: str, timeout: float = 1.0) -> Callable[[], Any]:
    def call() -> Any:
        with Notifier(url, timeout=timeout) as notifier:
            return notifier.publish_user_notification("f-user", "batch_results_ready", GOOD, idempotency_key="f1")

    return call


def publish_async(url: str, timeout: float = 1.0) -> Callable[[], Any]:
    async def main() -> Any:
        async with AsyncNotifier(url, timeout=timeout) as notifier:
            return await notifier.publish_user_notification("f-user", "batch_results_ready", GOOD, idempotency_key="f1")

    return lambda: asyncio.run(main())


@pytest.fixture()
def silent_listener() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.parametrize("flavour", [publish_sync, publish_async])
def test_nothing_listening_is_redis_unavailable(flavour: Callable[..., Callable[[], Any]]) -> None:
    error, elapsed = failure(flavour(f"redis://127.0.0.1:{free_port()}"))
    assert error.reason == "redis_unavailable"
    assert "is unavailable" in str(error) and "Connection refused" in str(error)
    assert elapsed < BOUND_SECONDS


@pytest.mark.parametrize("flavour", [publish_sync, publish_async])
def test_a_server_that_never_answers_is_a_timeout(
    flavour: Callable[..., Callable[[], Any]], silent_listener: str
) -> None:
    error, elapsed = failure(flavour(silent_listener))
    assert error.reason == "timeout"
    assert "did not answer the durable publish (publish.lua, PUBLISH) on ws:f-user within 1.0 s" in str(error)
    assert "retry with the same idempotency_key" in str(error)
    assert elapsed < BOUND_SECONDS


def test_a_frozen_redis_times_out_and_the_notifier_recovers_when_it_is_back(fresh_redis: RedisServer) -> None:
    with Notifier(fresh_redis.url, timeout=1.0) as notifier:
        assert notifier.publish("f-frozen", {"event": "tick", "data": {}}).position == 1
        fresh_redis.pause()
        try:
            error, elapsed = failure(lambda: notifier.publish("f-frozen", {"event": "tick", "data": {}}, idempotency_key="k"))
        finally:
            fresh_redis.resume()
        assert error.reason == "timeout"
        assert elapsed < BOUND_SECONDS
        # The retry with the same key publishes once, whether or not the first attempt landed.
        retry = notifier.publish("f-frozen", {"event": "tick", "data": {}}, idempotency_key="k")
        assert retry.position == 2
    assert fresh_redis.client().xlen("{ws:f-frozen}:history") == 2


def test_a_frozen_redis_times_out_the_async_notifier_too(fresh_redis: RedisServer) -> None:
    async def main() -> tuple[PublishError, int | None]:
        async with AsyncNotifier(fresh_redis.url, timeout=1.0) as notifier:
            await notifier.publish("f-afrozen", {"event": "tick", "data": {}})
            fresh_redis.pause()
            try:
                with pytest.raises(PublishError) as caught:
                    await notifier.publish("f-afrozen", {"event": "tick", "data": {}}, idempotency_key="k")
            finally:
                fresh_redis.resume()
            again = await notifier.publish("f-afrozen", {"event": "tick", "data": {}}, idempotency_key="k")
            return caught.value, again.position

    error, position = asyncio.run(asyncio.wait_for(main(), BOUND_SECONDS * 2))
    assert error.reason == "timeout"
    assert position == 2


def test_a_stopped_redis_is_unavailable_and_a_restarted_one_is_used_again(fresh_redis: RedisServer) -> None:
    with Notifier(fresh_redis.url, timeout=1.0) as notifier:
        notifier.publish("f-down", {"event": "tick", "data": {}})
        fresh_redis.stop()
        error, _ = failure(lambda: notifier.publish("f-down", {"event": "tick", "data": {}}))
        assert error.reason == "redis_unavailable"
        fresh_redis.start()
        # Redis lost its data (no persistence): a new epoch from position 1.
        assert notifier.publish("f-down", {"event": "tick", "data": {}}).position == 1


def test_an_error_reply_is_redis_error(redis_server: RedisServer) -> None:
    redis_server.client().set("{ws:f-wrong}:meta", "not a hash")
    with Notifier(redis_server.url) as notifier:
        error, _ = failure(lambda: notifier.publish("f-wrong", {"event": "tick", "data": {}}))
    assert error.reason == "redis_error"
    assert "Redis refused the durable publish (publish.lua, PUBLISH) on ws:f-wrong" in str(error)
    assert "WRONGTYPE" in str(error)


def test_a_closed_notifier_refuses(redis_server: RedisServer) -> None:
    notifier = Notifier(redis_server.url)
    notifier.close()
    error, _ = failure(lambda: notifier.publish("f-closed", {"event": "tick", "data": {}}))
    assert error.reason == "notifier_closed"

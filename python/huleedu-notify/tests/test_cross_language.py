"""Python and TypeScript publishers share one script, one schema and one id scheme: the same
idempotency key gives the same message id and one position whichever language publishes."""

from __future__ import annotations

import json
from typing import Any

from conftest import RedisServer, Subscriber, run_node

from huleedu_notify import Notifier

GOOD: Any = {"batch_id": "b1", "results_count": 3, "message": "Results are ready"}

# Publishes with @huleedu/notify (the TypeScript package) and prints its PublishResult.
TS_PUBLISH = """
import { createNotifier } from '@huleedu/notify';
const [url, user, key] = process.argv.slice(1);
const notifier = createNotifier({ redis: url });
try {
  const result = await notifier.publishUserNotification(
    user, 'batch_results_ready',
    { batch_id: 'b1', results_count: 3, message: 'Results are ready' },
    { idempotencyKey: key },
  );
  console.log(JSON.stringify(result));
} finally {
  await notifier.close();
}
"""


def ts_publish(server: RedisServer, user: str, key: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run_node(TS_PUBLISH, server.url, user, key))
    return result


def test_a_python_publish_then_a_typescript_retry_is_one_message(
    redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:x-py-first")
    with Notifier(redis_server.url) as notifier:
        first = notifier.publish_user_notification("x-py-first", "batch_results_ready", GOOD, idempotency_key="batch-b1:results")
    retry = ts_publish(redis_server, "x-py-first", "batch-b1:results")
    assert retry == {"id": first.id, "position": 1, "epoch": first.epoch, "receivers": 0, "duplicate": True}
    assert len(subscriber.next_message()) == 1
    assert redis_server.client().xlen("{ws:x-py-first}:history") == 1


def test_a_typescript_publish_then_a_python_retry_is_one_message(
    redis_server: RedisServer, subscriber: Subscriber
) -> None:
    subscriber.subscribe("ws:x-ts-first")
    first = ts_publish(redis_server, "x-ts-first", "batch-b2:results")
    assert (first["position"], first["duplicate"], first["receivers"]) == (1, False, 1)
    with Notifier(redis_server.url) as notifier:
        retry = notifier.publish_user_notification("x-ts-first", "batch_results_ready", GOOD, idempotency_key="batch-b2:results")
        following = notifier.publish_user_notification("x-ts-first", "batch_results_ready", GOOD)
    assert (retry.id, retry.position, retry.epoch, retry.duplicate) == (first["id"], 1, first["epoch"], True)
    # Both languages continue one history: the next message takes the next position.
    assert (following.position, following.epoch) == (2, first["epoch"])
    [(_, ts_text), (_, py_text)] = subscriber.next_message(2)
    assert json.loads(ts_text)["id"] == first["id"]
    # Both messages have the same shape, field for field.
    ts_message, py_message = json.loads(ts_text), json.loads(py_text)
    assert list(ts_message) == list(py_message)
    assert list(ts_message["data"]) == list(py_message["data"])

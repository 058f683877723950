"""A Redis Cluster with 3 masters (real redis-server processes), in classic and sharded modes."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import redis.cluster
from conftest import RedisServer, free_port, wait_for

from huleedu_notify import AsyncNotifier, Notifier, PublishMode

GOOD: Any = {"batch_id": "b1", "results_count": 3, "message": "Results are ready"}
# Users whose channels hash to slots on different masters.
USERS = [f"teacher-{n}" for n in range(12)]


class Cluster:
    """Three masters joined with `redis-cli --cluster create`, no replicas."""

    def __init__(self) -> None:
        self.nodes = [
            RedisServer(
                "--cluster-enabled", "yes",
                "--cluster-port", str(free_port()),
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000",
            )
            for _ in range(3)
        ]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in self.nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_for(self._healthy, "cluster_state:ok on every node", timeout=60)

    def _healthy(self) -> bool:
        for node in self.nodes:
            info = node.client().execute_command("CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                return False
        return True

    @property
    def seeds(self) -> list[str]:
        return [node.url for node in self.nodes]

    def client(self) -> Any:
        return redis.cluster.RedisCluster(host="127.0.0.1", port=self.nodes[0].port, socket_timeout=10)

    def remove(self) -> None:
        for node in self.nodes:
            node.remove()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = Cluster()
    yield started
    started.remove()


def listen(cluster: Cluster, channels: list[str], sharded: bool) -> Any:
    """A cluster pub/sub listener: classic SUBSCRIBE on one node hears every node's PUBLISH; a
    sharded SSUBSCRIBE must go to the node that owns the channel's slot."""
    client = cluster.client()
    subscribers = []
    for channel in channels:
        node = client.get_node_from_key(channel) if sharded else client.get_nodes()[0]
        connection = redis.Redis(host=node.host, port=node.port, socket_timeout=10)
        pubsub = connection.pubsub()
        pubsub.execute_command("SSUBSCRIBE" if sharded else "SUBSCRIBE", channel)  # type: ignore[no-untyped-call]
        wait_for(lambda: bool(pubsub.parse_response(block=False, timeout=0.1)), f"subscribed to {channel}")
        subscribers.append(pubsub)
    return subscribers


def received(subscribers: list[Any], count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    def poll() -> bool:
        for pubsub in subscribers:
            reply = pubsub.parse_response(block=False, timeout=0.02)
            while reply:
                if reply[0] in (b"message", b"smessage"):
                    messages.append(json.loads(reply[2]))
                reply = pubsub.parse_response(block=False, timeout=0.02)
        return len(messages) >= count

    wait_for(poll, f"{count} messages")
    return messages


@pytest.mark.parametrize("mode", ["classic", "sharded"])
def test_publishes_to_users_on_every_master(cluster: Cluster, mode: PublishMode) -> None:
    client = cluster.client()
    owners = {client.get_node_from_key(f"ws:{user}").port for user in USERS}
    assert len(owners) == 3, "the users should span all three masters"
    subscribers = listen(cluster, [f"ws:{mode}-{user}" for user in USERS], sharded=mode == "sharded")
    with Notifier({"cluster": cluster.seeds}, publish_mode=mode) as notifier:
        results = [
            notifier.publish_user_notification(f"{mode}-{user}", "batch_results_ready", GOOD, idempotency_key="k")
            for user in USERS
        ]
        retries = [
            notifier.publish_user_notification(f"{mode}-{user}", "batch_results_ready", GOOD, idempotency_key="k")
            for user in USERS
        ]
    assert [result.position for result in results] == [1] * len(USERS)
    assert all(retry.duplicate and retry.id == result.id for retry, result in zip(retries, results))
    # Classic PUBLISH counts only subscribers of the node that ran it; sharded reaches the owner's.
    if mode == "sharded":
        assert all(result.receivers == 1 for result in results)
    messages = received(subscribers, len(USERS))
    assert sorted(message["id"] for message in messages) == sorted(result.id for result in results)
    for user in USERS:
        assert client.xlen(f"{{ws:{mode}-{user}}}:history") == 1


def test_the_async_notifier_publishes_to_a_cluster_in_sharded_mode(cluster: Cluster) -> None:
    channels = [f"ws:async-{user}" for user in USERS[:6]]
    subscribers = listen(cluster, channels, sharded=True)

    async def main() -> list[Any]:
        async with AsyncNotifier({"cluster": cluster.seeds}, publish_mode="sharded") as notifier:
            results: list[Any] = [
                await notifier.publish_user_notification(f"async-{user}", "batch_results_ready", GOOD)
                for user in USERS[:6]
            ]
            results.append(await notifier.disconnect_user(f"async-{USERS[0]}", reason="logout"))
            return results

    results = asyncio.run(main())
    assert [result.position for result in results[:6]] == [1] * 6
    assert results[6] == 1
    messages = received(subscribers, 7)
    assert sorted(message["event"] for message in messages)[-1] == "ws.disconnect"


@pytest.mark.parametrize("mode", ["classic", "sharded"])
def test_without_history_it_publishes_live_to_the_owner_of_the_channel(cluster: Cluster, mode: PublishMode) -> None:
    channels = [f"ws:live-{mode}-{user}" for user in USERS[:6]]
    subscribers = listen(cluster, channels, sharded=mode == "sharded")
    with Notifier({"cluster": cluster.seeds}, publish_mode=mode, history=False) as notifier:
        results = [
            notifier.publish_user_notification(f"live-{mode}-{user}", "batch_results_ready", GOOD)
            for user in USERS[:6]
        ]
    assert all(result.position is None for result in results)
    messages = received(subscribers, 6)
    assert sorted(message["id"] for message in messages) == sorted(result.id for result in results)


def test_the_async_notifier_publishes_live_to_the_shard_of_the_channel(cluster: Cluster) -> None:
    channels = [f"ws:alive-{user}" for user in USERS[:6]]
    subscribers = listen(cluster, channels, sharded=True)

    async def main() -> list[Any]:
        async with AsyncNotifier({"cluster": cluster.seeds}, publish_mode="sharded", history=False) as notifier:
            return [
                await notifier.publish_user_notification(f"alive-{user}", "batch_results_ready", GOOD)
                for user in USERS[:6]
            ]

    results = asyncio.run(main())
    assert [result.receivers for result in results] == [1] * 6
    assert len(received(subscribers, 6)) == 6

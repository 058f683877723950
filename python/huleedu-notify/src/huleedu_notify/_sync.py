"""`Notifier`: publishes from blocking code (Flask, Django, workers) with redis-py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import redis
import redis.cluster

from ._checks import HistoryOptions, PublishMode
from ._core import NotifierBase, Send, prepare_disconnect, prepare_raw
from ._core import prepare_notification as _prepare
from ._connection import ClusterTarget, cluster_seeds, connection_options, parse_url
from ._failures import publish_error
from ._scripts import ScriptCall, is_noscript, parse_publish_reply
from ._result import PublishResult
from .catalog import DEFAULT_CHANNEL_PREFIX, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, DEFAULT_PUBLISH_TIMEOUT_SECONDS, TypedPublishMethods
from .errors import NotifierConfigError, PublishError

RedisTarget = str | ClusterTarget | Any
"""A redis:// URL, ``{"cluster": [urls]}`` (both opened and owned by the notifier), or a redis-py client (borrowed)."""


def _open(target: object, timeout: float) -> Any:
    if isinstance(target, str):
        endpoint = parse_url(target, "redis")
        return redis.Redis(host=endpoint.host, port=endpoint.port, db=endpoint.db, **connection_options(endpoint, timeout))
    if isinstance(target, dict):
        seeds = cluster_seeds(target)
        options = connection_options(seeds[0], timeout)
        return redis.cluster.RedisCluster(
            startup_nodes=[redis.cluster.ClusterNode(seed.host, seed.port) for seed in seeds],
            cluster_error_retry_attempts=1,
            **options,
        )
    raise NotifierConfigError("redis must be a redis:// URL, a redis-py client, or {'cluster': [urls]}")


class Notifier(NotifierBase, TypedPublishMethods):
    """Publishes notifications to users' Redis channels from blocking code. Create one per process.

    Every publish is checked against the protocol's JSON Schema before anything reaches Redis, then
    (history on) stored in the user's history and published live in one atomic step by the same
    Lua script `@huleedu/notify` runs, so a reconnecting tab gets it replayed.
    """

    def __init__(
        self,
        redis: RedisTarget,
        *,
        channel_prefix: str = DEFAULT_CHANNEL_PREFIX,
        publish_mode: PublishMode = "classic",
        history: HistoryOptions | bool = True,
        timeout: float = DEFAULT_PUBLISH_TIMEOUT_SECONDS,
        max_token_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    ) -> None:
        """`redis`: a redis:// URL, ``{"cluster": [urls]}``, or a redis-py client (borrowed, never
        closed; its own timeouts apply). `timeout`: seconds to connect and seconds to wait for each
        reply before a `PublishError`. `history`: `HistoryOptions`, True (the defaults) or False
        (plain PUBLISH, nothing stored). The rest as in `@huleedu/notify`'s `createNotifier`."""
        super().__init__(
            redis,
            _open,
            channel_prefix=channel_prefix,
            publish_mode=publish_mode,
            history=history,
            timeout=timeout,
            max_token_lifetime_seconds=max_token_lifetime_seconds,
        )

    def _publish_notification(self, user_id: str, type: str, data: Any, **options: Any) -> PublishResult:
        idempotency_key = options.pop("idempotency_key")
        history = options.pop("history")
        send = _prepare(
            self._settings, user_id, type, data, idempotency_key=idempotency_key, history=history, options=options
        )
        return self._deliver(send)

    def publish(
        self, user_id: str, envelope: dict[str, Any], *, idempotency_key: str | None = None, history: bool = True
    ) -> PublishResult:
        """Publishes a prebuilt envelope ``{"event", "data", "id"?}`` (any event name outside `ws.*`).

        A catalogue event must carry complete, valid `data` (shared fields included); any other
        event only the envelope shape. Raises `NotificationValidationError` or `PublishError`.
        """
        return self._deliver(
            prepare_raw(self._settings, user_id, envelope, idempotency_key=idempotency_key, history=history)
        )

    def disconnect_user(self, user_id: str, *, reason: str, issued_before: datetime | float | None = None) -> int:
        """Cuts a user off: every service instance closes every socket of `user_id` (1008
        `token_revoked`); with `issued_before`, tokens issued before it are refused at the handshake
        too, for as long as such a token could be valid. Returns the number of service instances
        that held a socket of the user. Raises `NotificationValidationError` (`invalid_user_id`,
        `invalid_disconnect`) or `PublishError`."""
        send = prepare_disconnect(self._settings, user_id, reason, issued_before)
        call = send.call
        assert call is not None
        return int(self._guard(send, partial(self._run, call)))

    def close(self) -> None:
        """Closes the connection if the notifier opened it; later publishes raise `notifier_closed`."""
        if self._closed:
            return
        self._closed = True
        if self._owned:
            self._client.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _deliver(self, send: Send) -> PublishResult:
        if send.call is None:
            return send.live_result(int(self._guard(send, lambda: self._publish_live(send))))
        reply = parse_publish_reply(self._guard(send, partial(self._run, send.call)))
        return PublishResult(send.id, reply["position"], reply["epoch"], reply["receivers"], reply["duplicate"])

    def _guard(self, send: Send, action: Callable[[], Any]) -> Any:
        if self._closed:
            raise PublishError("notifier_closed", "this notifier has been closed")
        try:
            return action()
        except Exception as error:
            raise publish_error(
                error,
                where=self._settings.where,
                what=send.what,
                channel=send.channel,
                timeout=self._settings.timeout,
                durable=send.call is not None,
            ) from error

    def _run(self, call: ScriptCall) -> Any:
        # EVALSHA first; on NOSCRIPT (a restarted node, or a cluster node that has not seen it yet)
        # EVAL once, which caches it there for the next EVALSHA.
        arguments = [*call.keys, *call.args]
        try:
            return self._client.evalsha(call.script.sha, len(call.keys), *arguments)
        except Exception as error:
            if not is_noscript(error):
                raise
        return self._client.eval(call.script.source, len(call.keys), *arguments)

    def _publish_live(self, send: Send) -> int:
        mode = self._settings.publish_mode
        receivers = 0
        if mode != "sharded":
            receivers += int(self._client.execute_command("PUBLISH", send.channel, send.message))
        if mode != "classic":
            # A cluster client cannot route SPUBLISH by itself (no key): send it to the shard
            # that owns the channel's slot, where the service's SSUBSCRIBE listens.
            route: dict[str, Any] = {}
            if hasattr(self._client, "get_node_from_key"):
                route["target_nodes"] = self._client.get_node_from_key(send.channel)
            receivers += int(self._client.execute_command("SPUBLISH", send.channel, send.message, **route))
        return receivers

"""`AsyncNotifier`: the asyncio twin of `Notifier` (FastAPI, Quart, aiohttp) with redis.asyncio."""

from __future__ import annotations

import asyncio
from functools import partial
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import redis.asyncio
import redis.asyncio.cluster

from ._checks import HistoryOptions, PublishMode
from ._core import NotifierBase, Send, prepare_disconnect, prepare_raw
from ._core import prepare_notification as _prepare
from ._connection import cluster_seeds, connection_options, parse_url
from ._failures import publish_error
from ._scripts import ScriptCall, is_noscript, parse_publish_reply
from ._result import PublishResult
from ._sync import RedisTarget
from .catalog import (
    DEFAULT_CHANNEL_PREFIX,
    DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    DEFAULT_PUBLISH_TIMEOUT_SECONDS,
    AsyncTypedPublishMethods,
)
from .errors import NotifierConfigError, PublishError


def _open(target: object, timeout: float) -> Any:
    if isinstance(target, str):
        endpoint = parse_url(target, "redis")
        return redis.asyncio.Redis(
            host=endpoint.host, port=endpoint.port, db=endpoint.db, **connection_options(endpoint, timeout)
        )
    if isinstance(target, dict):
        seeds = cluster_seeds(target)
        options = connection_options(seeds[0], timeout)
        options.pop("retry_on_timeout")
        return redis.asyncio.cluster.RedisCluster(
            startup_nodes=[redis.asyncio.cluster.ClusterNode(seed.host, seed.port) for seed in seeds],
            cluster_error_retry_attempts=1,
            **options,
        )
    raise NotifierConfigError("redis must be a redis:// URL, a redis.asyncio client, or {'cluster': [urls]}")


class AsyncNotifier(NotifierBase, AsyncTypedPublishMethods):
    """The asyncio twin of :class:`Notifier`: the same options, checks and results, awaited.

    Every call is bounded: it raises `PublishError` once Redis has not connected or answered
    within `timeout` seconds (each), whatever the client does meanwhile.
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
        """The options of :class:`Notifier`; a borrowed client is a redis.asyncio one."""
        super().__init__(
            redis,
            _open,
            channel_prefix=channel_prefix,
            publish_mode=publish_mode,
            history=history,
            timeout=timeout,
            max_token_lifetime_seconds=max_token_lifetime_seconds,
        )

    async def _publish_notification(self, user_id: str, type: str, data: Any, **options: Any) -> PublishResult:
        idempotency_key = options.pop("idempotency_key")
        history = options.pop("history")
        send = _prepare(
            self._settings, user_id, type, data, idempotency_key=idempotency_key, history=history, options=options
        )
        return await self._deliver(send)

    async def publish(
        self, user_id: str, envelope: dict[str, Any], *, idempotency_key: str | None = None, history: bool = True
    ) -> PublishResult:
        """Publishes a prebuilt envelope ``{"event", "data", "id"?}``: see :meth:`Notifier.publish`."""
        send = prepare_raw(self._settings, user_id, envelope, idempotency_key=idempotency_key, history=history)
        return await self._deliver(send)

    async def disconnect_user(
        self, user_id: str, *, reason: str, issued_before: datetime | float | None = None
    ) -> int:
        """Cuts a user off: see :meth:`Notifier.disconnect_user`."""
        send = prepare_disconnect(self._settings, user_id, reason, issued_before)
        call = send.call
        assert call is not None
        return int(await self._guard(send, partial(self._run, call)))

    async def close(self) -> None:
        """Closes the connection if the notifier opened it; later publishes raise `notifier_closed`."""
        if self._closed:
            return
        self._closed = True
        if self._owned:
            await self._client.close()
            pool = getattr(self._client, "connection_pool", None)
            if pool is not None:
                await pool.disconnect()

    async def __aenter__(self) -> AsyncNotifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _deliver(self, send: Send) -> PublishResult:
        call = send.call
        if call is None:
            return send.live_result(int(await self._guard(send, lambda: self._publish_live(send))))
        reply = parse_publish_reply(await self._guard(send, partial(self._run, call)))
        return PublishResult(send.id, reply["position"], reply["epoch"], reply["receivers"], reply["duplicate"])

    async def _guard(self, send: Send, action: Callable[[], Awaitable[Any]]) -> Any:
        if self._closed:
            raise PublishError("notifier_closed", "this notifier has been closed")
        timeout = self._settings.timeout
        # Connecting and the reply may each take `timeout` (the socket timeouts of an owned
        # connection); this bounds the whole call, for borrowed clients without timeouts too.
        bound = 2 * timeout if self._owned else timeout
        try:
            return await asyncio.wait_for(action(), bound)
        except Exception as error:
            if isinstance(error, asyncio.TimeoutError) and self._owned:
                # A reply may still arrive on that connection: drop it rather than reuse it.
                await self._reset()
            raise publish_error(
                error,
                where=self._settings.where,
                what=send.what,
                channel=send.channel,
                timeout=timeout,
                durable=send.call is not None,
            ) from error

    async def _reset(self) -> None:
        # The call was cancelled mid-command: its reply may still arrive on that connection, so
        # drop the connections rather than reuse them (a cluster client reconnects on next use).
        pool = getattr(self._client, "connection_pool", None)
        try:
            if pool is not None:
                await pool.disconnect(inuse_connections=True)
            else:
                await self._client.close()
        except Exception:  # the PublishError for the timeout is what the caller needs
            pass

    async def _run(self, call: ScriptCall) -> Any:
        # EVALSHA first; on NOSCRIPT EVAL once, which caches the script on that node.
        arguments = [*call.keys, *call.args]
        try:
            return await self._client.evalsha(call.script.sha, len(call.keys), *arguments)
        except Exception as error:
            if not is_noscript(error):
                raise
        return await self._client.eval(call.script.source, len(call.keys), *arguments)

    async def _publish_live(self, send: Send) -> int:
        mode = self._settings.publish_mode
        receivers = 0
        if mode != "sharded":
            receivers += int(await self._client.execute_command("PUBLISH", send.channel, send.message))
        if mode != "classic":
            # A cluster client cannot route SPUBLISH by itself (no key): send it to the shard
            # that owns the channel's slot, where the service's SSUBSCRIBE listens.
            route: dict[str, Any] = {}
            if hasattr(self._client, "get_node_from_key"):
                await self._client.initialize()
                route["target_nodes"] = self._client.get_node_from_key(send.channel)
            receivers += int(await self._client.execute_command("SPUBLISH", send.channel, send.message, **route))
        return receivers

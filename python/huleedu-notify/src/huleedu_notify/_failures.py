"""Redis failures as `PublishError`s a person can act on."""

from __future__ import annotations

import os
import re
import socket

import redis.exceptions

from ._checks import PublishMode
from .errors import PublishError


def describe_send(mode: PublishMode, script_name: str | None) -> str:
    """What was sent, in words: `the durable publish (publish.lua, PUBLISH)`."""
    command = {"classic": "PUBLISH", "sharded": "SPUBLISH", "both": "PUBLISH+SPUBLISH"}[mode]
    if script_name == "disconnect.lua":
        return f"the script disconnect.lua ({command})"
    if script_name is not None:
        return f"the durable publish ({script_name}, {command})"
    return command


def _unavailable_reason(error: BaseException) -> str:
    # redis.asyncio words a refused connect "Error 111 connecting to host:port. 111.": name the errno.
    text = str(error) or type(error).__name__
    match = re.search(r"Error (\d+) connecting", text)
    if match and os.strerror(int(match.group(1))) not in text:
        text = f"{text.rstrip('.')}: {os.strerror(int(match.group(1)))}"
    return text


def publish_error(error: BaseException, *, where: str, what: str, channel: str, timeout: float, durable: bool) -> PublishError:
    """The `PublishError` for a redis-py (or socket) failure of one send."""
    retry = " (retry with the same idempotency_key to publish it exactly once)" if durable else ""
    if isinstance(error, PublishError):
        return error
    if isinstance(error, redis.exceptions.ResponseError):
        return PublishError("redis_error", f"Redis refused {what} on {channel}: {error}")
    connecting = "connecting" in str(error).lower()
    if isinstance(error, (redis.exceptions.TimeoutError, socket.timeout, TimeoutError)) and not connecting:
        return PublishError(
            "timeout",
            f"Redis at {where} did not answer {what} on {channel} within {timeout} s; the message may still be delivered{retry}",
        )
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)):
        return PublishError(
            "redis_unavailable",
            f"could not send {what} on {channel}: Redis at {where} is unavailable ({_unavailable_reason(error)})",
        )
    if isinstance(error, redis.exceptions.RedisClusterException) or type(error).__name__ in (
        "ClusterDownError",
        "SlotNotCoveredError",
        "MaxConnectionsError",
    ):
        return PublishError(
            "redis_unavailable",
            f"could not send {what} on {channel}: Redis at {where} is unavailable ({error or type(error).__name__})",
        )
    return PublishError("redis_error", f"Redis failed {what} on {channel}: {type(error).__name__}: {error}")

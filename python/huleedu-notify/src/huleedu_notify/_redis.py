"""The Redis side shared by `Notifier` and `AsyncNotifier`: the Lua scripts, the calls built for
them, their replies, where a notifier connects, and Redis failures as `PublishError`s."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

import redis
import redis.exceptions

from ._checks import HistoryOptions, PublishMode
from ._keys import history_keys, idempotency_key, new_epoch, revocation_key
from .catalog import CLOCK_SLACK_SECONDS, DISCONNECT_EVENT, DISCONNECT_REASON_PATTERN
from .errors import NotificationValidationError, NotifierConfigError, PublishError


@dataclass(frozen=True)
class Script:
    """One of the Lua scripts `@huleedu/notify` ships (`lua/`), copied into this package."""

    name: str
    source: str
    sha: str


@lru_cache(maxsize=2)
def script(name: str) -> Script:
    """`publish.lua` or `disconnect.lua`, byte for byte the TypeScript package's file."""
    source = resources.files(__package__).joinpath(f"_data/{name}").read_text("utf-8")
    return Script(name, source, hashlib.sha1(source.encode("utf-8")).hexdigest())


@dataclass(frozen=True)
class ScriptCall:
    """KEYS and ARGV of one run of a script (their meaning is in the script's header)."""

    script: Script
    keys: list[str]
    args: list[str | int]


def publish_call(
    user_id: str,
    prefix: str,
    channel: str,
    message: str,
    mode: PublishMode,
    history: HistoryOptions,
    key: str | None,
) -> ScriptCall:
    """The run of `publish.lua` that stores `message` in the user's history and publishes it."""
    stream, meta = history_keys(user_id, prefix)
    keys = [stream, meta]
    if key is not None:
        keys.append(idempotency_key(user_id, key, prefix))
    args: list[str | int] = [
        channel,
        message,
        mode,
        history.max_length,
        history.ttl_seconds,
        new_epoch(),
        history.idempotency_ttl_seconds,
    ]
    return ScriptCall(script("publish.lua"), keys, args)


class PublishReply(TypedDict):
    """What `publish.lua` answered."""

    position: int
    epoch: str
    receivers: int
    duplicate: bool


def parse_publish_reply(reply: Any) -> PublishReply:
    """`[position, epoch, receivers, duplicate]`; anything else is a `redis_error`."""
    if isinstance(reply, (list, tuple)) and len(reply) == 4:
        position, epoch, receivers, duplicate = reply
        if isinstance(epoch, bytes):
            epoch = epoch.decode("utf-8")
        if (
            isinstance(position, int)
            and isinstance(epoch, str)
            and isinstance(receivers, int)
            and duplicate in (0, 1)
        ):
            return {"position": position, "epoch": epoch, "receivers": receivers, "duplicate": duplicate == 1}
    raise PublishError(
        "redis_error",
        f"unexpected reply from publish.lua: {str(reply)[:200]} (expected [position, epoch, receivers, duplicate])",
    )


def disconnect_call(
    user_id: str,
    prefix: str,
    channel: str,
    mode: PublishMode,
    *,
    reason: object,
    issued_before: object,
    max_token_lifetime_seconds: int,
    now: float | None = None,
) -> ScriptCall:
    """The run of `disconnect.lua`, checked as `@huleedu/notify` checks `disconnectUser`.

    The revocation key lives `issued_before + max_token_lifetime_seconds + CLOCK_SLACK_SECONDS`
    from now: the last moment a token issued before it could pass. Raises `invalid_disconnect`.
    """
    def invalid(message: str) -> NotificationValidationError:
        return NotificationValidationError("invalid_disconnect", f"disconnect_user: {message}")

    if not isinstance(reason, str) or not re.fullmatch(DISCONNECT_REASON_PATTERN, reason):
        raise invalid(f'reason must be 1 to 64 of A-Z a-z 0-9 _ . : - (e.g. "logout"), got {json.dumps(reason, default=repr)}')
    now_seconds = time.time() if now is None else now
    before: int | None = None
    if issued_before is not None:
        if isinstance(issued_before, datetime):
            if issued_before.tzinfo is None:
                raise invalid("issued_before is a datetime without a time zone; pass an aware datetime")
            seconds = issued_before.timestamp()
        elif isinstance(issued_before, (int, float)) and not isinstance(issued_before, bool):
            seconds = float(issued_before)
        else:
            raise invalid(f"issued_before must be a datetime or epoch seconds, got {issued_before!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise invalid(f"issued_before must be a datetime or epoch seconds, got {issued_before!r}")
        if seconds > now_seconds + CLOCK_SLACK_SECONDS:
            raise invalid(
                f"issued_before ({datetime.fromtimestamp(seconds).isoformat()}) is in the future: fresh "
                "tokens would be refused too; to lock an account, stop issuing tokens for it"
            )
        before = math.floor(seconds)
    data: dict[str, Any] = {"reason": reason}
    if before is not None:
        data["issued_before"] = before
    ttl = 0
    if before is not None:
        ttl = max(0, math.ceil(before + max_token_lifetime_seconds + CLOCK_SLACK_SECONDS - now_seconds))
    keep = before is not None and ttl > 0
    command = json.dumps({"event": DISCONNECT_EVENT, "data": data}, separators=(",", ":"))
    return ScriptCall(
        script("disconnect.lua"),
        [revocation_key(user_id, prefix)],
        [channel, command, mode, str(before) if keep else "", str(ttl) if keep else ""],
    )


# --- where a notifier connects ------------------------------------------------------------------


class ClusterTarget(TypedDict):
    """Seed nodes of a Redis Cluster, e.g. ``{"cluster": ["redis://10.0.0.1:6379"]}``."""

    cluster: Sequence[str]


@dataclass(frozen=True)
class Endpoint:
    """One parsed redis:// URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    db: int

    def describe(self) -> str:
        """`redis://host:port` without credentials, for error messages."""
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}"


def parse_url(text: object, what: str) -> Endpoint:
    """Parses a redis:// or rediss:// URL; raises `NotifierConfigError` naming `what`."""
    if not isinstance(text, str):
        raise NotifierConfigError(f"{what}: expected a redis:// URL, got {text!r}")
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss"):
        raise NotifierConfigError(f"{what}: expected a redis:// or rediss:// URL, got {text!r}")
    try:
        port = parts.port or 6379
    except ValueError as error:
        raise NotifierConfigError(f"{what}: {error} in {text!r}") from error
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise NotifierConfigError(f"{what}: the database in {text!r} must be a number")
    return Endpoint(
        host=parts.hostname or "localhost",
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "rediss",
        db=int(path) if path else 0,
    )


def connection_options(endpoint: Endpoint, timeout: float) -> dict[str, Any]:
    """redis-py options of a connection a notifier owns: every wait bounded by `timeout`, no retries."""
    return {
        "username": endpoint.username,
        "password": endpoint.password,
        "ssl": endpoint.tls,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry_on_timeout": False,
        "client_name": "huleedu-notify",
    }


def is_client(target: object) -> bool:
    """Whether `target` is a redis-py client (borrowed) rather than a URL or cluster seed list."""
    return hasattr(target, "execute_command") and hasattr(target, "evalsha")


def describe_target(target: object) -> str:
    """Where a notifier publishes, without credentials."""
    if isinstance(target, str):
        return parse_url(target, "redis").describe()
    if isinstance(target, dict) and "cluster" in target:
        return "cluster " + ", ".join(parse_url(url, "redis.cluster").describe() for url in target["cluster"])
    return "the caller-supplied Redis client"


def cluster_seeds(target: object) -> list[Endpoint]:
    """The seed endpoints of a `{"cluster": [urls]}` target; raises `NotifierConfigError`."""
    seeds = target.get("cluster") if isinstance(target, dict) else None
    if not isinstance(seeds, (list, tuple)) or len(seeds) == 0:
        raise NotifierConfigError("redis.cluster must list at least one node URL")
    return [parse_url(seed, f"redis.cluster[{index}]") for index, seed in enumerate(seeds)]


# --- Redis failures -------------------------------------------------------------------------------


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


def is_noscript(error: BaseException) -> bool:
    """Whether Redis answered NOSCRIPT (a node that has not cached the script yet)."""
    return isinstance(error, redis.exceptions.NoScriptError) or str(error).startswith("NOSCRIPT")

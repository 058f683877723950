"""The Lua scripts `@huleedu/notify` ships (copied into this package), the runs built for them and
their replies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, TypedDict

import redis.exceptions

from ._checks import HistoryOptions, PublishMode
from ._keys import history_keys, idempotency_key, new_epoch
from .errors import PublishError


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


def is_noscript(error: BaseException) -> bool:
    """Whether Redis answered NOSCRIPT (a node that has not cached the script yet)."""
    return isinstance(error, redis.exceptions.NoScriptError) or str(error).startswith("NOSCRIPT")

"""Checks of user ids, idempotency keys and notifier options, worded as @huleedu/notify words them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Literal

from .catalog import (
    DEFAULT_HISTORY_MAX_LENGTH,
    DEFAULT_HISTORY_TTL_SECONDS,
    DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    MAX_HISTORY_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_TTL_SECONDS,
    MAX_USER_ID_LENGTH,
)
from .errors import NotificationValidationError, NotifierConfigError

PublishMode = Literal["classic", "sharded", "both"]
"""PUBLISH (`classic`), SPUBLISH (`sharded`, Redis 7+) or both; must match how the service subscribes."""

PUBLISH_MODES: tuple[PublishMode, ...] = ("classic", "sharded", "both")

# Whitespace, control characters (C0, DEL, C1) and glob characters, as in @huleedu/notify.
_FORBIDDEN_IN_USER_ID = re.compile(r"[\s\ufeff\x00-\x1f\x7f-\x9f*?\[\]\\]")
_FORBIDDEN_IN_KEY = re.compile(r"[\s\ufeff\x00-\x1f\x7f-\x9f]")


def _length(text: str) -> int:
    # Counted in UTF-16 code units, as JavaScript counts, so both languages draw the line alike.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def user_id_problem(user_id: object) -> str | None:
    """Why `user_id` cannot name a user channel, or None when it can."""
    if not isinstance(user_id, str):
        return f"expected a string, got {_kind(user_id)}"
    if user_id == "":
        return "must not be empty"
    if _length(user_id) > MAX_USER_ID_LENGTH:
        return f"too long ({_length(user_id)} characters, maximum {MAX_USER_ID_LENGTH})"
    bad = _FORBIDDEN_IN_USER_ID.search(user_id)
    if bad:
        return f"contains {json.dumps(bad.group(0))} (whitespace, control and * ? [ ] \\ are not allowed)"
    return None


def hash_tag_problem(value: str, what: str) -> str | None:
    """Why `value` would move the user's keys out of the channel's Redis Cluster slot, or None."""
    if "}" not in value:
        return None
    return (
        f'{what} contains "}}", which would put the user\'s keys in another Redis Cluster slot than '
        "their channel (history and revocation keys are {<prefix>:<userId>}:history, :meta and "
        ":revoked_before)"
    )


def check_user_id(user_id: object, *, keyed: bool) -> str:
    """Returns `user_id`, or raises `invalid_user_id` (with `keyed`, also for a `}`)."""
    problem = user_id_problem(user_id)
    if problem is None and keyed and isinstance(user_id, str):
        problem = hash_tag_problem(user_id, "userId")
        if problem is not None:
            raise NotificationValidationError("invalid_user_id", problem)
    if problem is not None:
        raise NotificationValidationError("invalid_user_id", f"userId {problem}")
    assert isinstance(user_id, str)
    return user_id


def check_idempotency_key(key: object) -> str:
    """Returns `key`, or raises `invalid_idempotency_key`: 1 to 200 characters, no whitespace/control."""
    problem: str | None = None
    if not isinstance(key, str):
        problem = f"expected a string, got {_kind(key)}"
    elif key == "":
        problem = "must not be empty"
    elif _length(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        problem = f"too long ({_length(key)} characters, maximum {MAX_IDEMPOTENCY_KEY_LENGTH})"
    else:
        bad = _FORBIDDEN_IN_KEY.search(key)
        if bad:
            problem = f"contains {json.dumps(bad.group(0))} (whitespace and control characters are not allowed)"
    if problem is not None:
        raise NotificationValidationError("invalid_idempotency_key", f"idempotency_key {problem}")
    assert isinstance(key, str)
    return key


def _whole(name: str, value: object, low: int, high: int, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise NotifierConfigError(
            f"history.{name}: expected a whole number{unit} from {low} to {high}, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class HistoryOptions:
    """Retention of each user's history; use the same values in every publisher of a deployment.

    - `max_length`: messages kept per user (exact MAXLEN), 1 to 10000;
    - `ttl_seconds`: seconds a user's history lives after its last message;
    - `idempotency_ttl_seconds`: seconds an idempotency key is remembered.
    """

    max_length: int = DEFAULT_HISTORY_MAX_LENGTH
    ttl_seconds: int = DEFAULT_HISTORY_TTL_SECONDS
    idempotency_ttl_seconds: int = DEFAULT_IDEMPOTENCY_TTL_SECONDS

    def __post_init__(self) -> None:
        _whole("max_length", self.max_length, 1, MAX_HISTORY_LENGTH)
        _whole("ttl_seconds", self.ttl_seconds, 1, MAX_TTL_SECONDS, " of seconds")
        _whole("idempotency_ttl_seconds", self.idempotency_ttl_seconds, 1, MAX_TTL_SECONDS, " of seconds")


def check_options(
    *,
    channel_prefix: object,
    publish_mode: object,
    timeout: object,
    history: object,
    max_token_lifetime_seconds: object,
) -> None:
    """Raises `NotifierConfigError` naming the first unusable option of a notifier."""
    problem = user_id_problem(channel_prefix)
    if problem is not None:
        raise NotifierConfigError(f"channel_prefix {problem}")
    assert isinstance(channel_prefix, str)
    tag_problem = hash_tag_problem(channel_prefix, "channel_prefix")
    if tag_problem is not None:
        raise NotifierConfigError(tag_problem)
    if publish_mode not in PUBLISH_MODES:
        raise NotifierConfigError(
            f"publish_mode must be one of {', '.join(PUBLISH_MODES)}, got {publish_mode!r}"
        )
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise NotifierConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if history is not False and not isinstance(history, HistoryOptions):
        raise NotifierConfigError(f"history must be a HistoryOptions or False, got {history!r}")
    if (
        isinstance(max_token_lifetime_seconds, bool)
        or not isinstance(max_token_lifetime_seconds, int)
        or max_token_lifetime_seconds < 1
    ):
        raise NotifierConfigError(
            "max_token_lifetime_seconds must be a whole number of seconds >= 1 (the service's "
            f"JWT_MAX_LIFETIME_SECONDS), got {max_token_lifetime_seconds!r}"
        )

"""`disconnect_user`: the checked run of `disconnect.lua`, as `@huleedu/notify`'s `disconnectUser`."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime
from typing import Any

from ._checks import PublishMode
from ._keys import revocation_key
from ._scripts import ScriptCall, script
from .catalog import CLOCK_SLACK_SECONDS, DISCONNECT_EVENT, DISCONNECT_REASON_PATTERN
from .errors import NotificationValidationError


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

"""The two errors a publish raises: refused before Redis, or Redis failed."""

from __future__ import annotations

from typing import Literal

ValidationErrorCode = Literal[
    "invalid_payload",
    "unknown_type",
    "invalid_user_id",
    "invalid_idempotency_key",
    "invalid_disconnect",
]
"""Why a call was refused before anything reached Redis (the same codes as `@huleedu/notify`)."""

PublishErrorReason = Literal["redis_unavailable", "timeout", "redis_error", "notifier_closed"]
"""Why Redis did not take a publish: see :class:`PublishError`."""


class NotificationValidationError(ValueError):
    """A notification was refused before it reached Redis; nothing was sent.

    `str(error)` names each bad field with what it got and what it accepts, e.g.
    ``batch_results_ready: data.results_count: expected a whole number >= 0, got "three"``.
    Fix the call; retrying will not help. `issues` holds one line per problem.
    """

    def __init__(self, code: ValidationErrorCode, message: str, issues: list[str] | None = None):
        super().__init__(message)
        self.code: ValidationErrorCode = code
        self.issues: list[str] = issues if issues is not None else [message]


class PublishError(Exception):
    """Redis did not take the publish (or the disconnect). Never a silent drop: `reason` says why.

    - `redis_unavailable`: Redis could not be reached (refused, connect timed out, cluster down);
      nothing was published.
    - `timeout`: Redis did not answer within the notifier's `timeout`; the message may still be
      delivered. Retry with the same `idempotency_key` to publish it exactly once.
    - `redis_error`: Redis answered with an error (NOPERM, SPUBLISH on Redis < 7, the publish
      script's own ``ERR huleedu publish: ...``).
    - `notifier_closed`: `close()` was called on this notifier.

    The redis-py exception, if any, is the ``__cause__``.
    """

    def __init__(self, reason: PublishErrorReason, message: str):
        super().__init__(message)
        self.reason: PublishErrorReason = reason


class NotifierConfigError(ValueError):
    """`Notifier` or `AsyncNotifier` was given an option it cannot use; the message names it."""

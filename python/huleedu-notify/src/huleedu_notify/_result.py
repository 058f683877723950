"""What a publish did."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishResult:
    """The outcome of one publish, as `@huleedu/notify` reports it.

    - `id`: the message's `id` in the envelope, a UUID (derived from the idempotency key when one
      was given, so a retry reports the same id);
    - `position`: the message's position in the user's history (1, 2, 3, ...); None without history;
    - `epoch`: the history's epoch the position belongs to; None without history;
    - `receivers`: service instances that received it live (0 when nobody listens, and for a
      duplicate);
    - `duplicate`: True when the idempotency key had been seen: nothing was published this time.
    """

    id: str
    position: int | None
    epoch: str | None
    receivers: int
    duplicate: bool

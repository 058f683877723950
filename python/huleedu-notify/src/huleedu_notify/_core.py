"""What `Notifier` and `AsyncNotifier` share: options, and everything a publish does before and
after the Redis round trip (checks, envelope, keys, the script call, the result)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._checks import HistoryOptions, PublishMode, check_idempotency_key, check_options, check_user_id
from ._envelope import notification_envelope, raw_envelope, serialize
from ._keys import idempotent_message_id, new_message_id, user_channel
from ._connection import describe_target, is_client
from ._disconnect import disconnect_call
from ._failures import describe_send
from ._scripts import ScriptCall, publish_call
from ._result import PublishResult
from .errors import NotificationValidationError


@dataclass(frozen=True)
class Settings:
    """A notifier's checked options."""

    channel_prefix: str
    publish_mode: PublishMode
    history: HistoryOptions | None
    timeout: float
    max_token_lifetime_seconds: int
    where: str


def settings(
    redis: object,
    *,
    channel_prefix: object,
    publish_mode: object,
    history: object,
    timeout: object,
    max_token_lifetime_seconds: object,
) -> Settings:
    """Checks a notifier's options; raises `NotifierConfigError` naming the bad one."""
    check_options(
        channel_prefix=channel_prefix,
        publish_mode=publish_mode,
        timeout=timeout,
        history=history,
        max_token_lifetime_seconds=max_token_lifetime_seconds,
    )
    return Settings(
        channel_prefix=channel_prefix,  # type: ignore[arg-type]
        publish_mode=publish_mode,  # type: ignore[arg-type]
        history=history if isinstance(history, HistoryOptions) else None,
        timeout=float(timeout),  # type: ignore[arg-type]
        max_token_lifetime_seconds=max_token_lifetime_seconds,  # type: ignore[arg-type]
        where=describe_target(redis),
    )


@dataclass(frozen=True)
class Send:
    """One checked publish, ready for Redis: a script run (durable) or a plain PUBLISH."""

    id: str
    channel: str
    message: str
    call: ScriptCall | None
    what: str

    def live_result(self, receivers: int) -> PublishResult:
        """The result of a plain PUBLISH (no history)."""
        return PublishResult(self.id, None, None, receivers, False)


def prepare_notification(
    config: Settings,
    user_id: object,
    type: object,
    data: object,
    *,
    idempotency_key: object,
    history: bool,
    options: dict[str, Any],
) -> Send:
    """Checks a catalogue notification and builds its send; raises `NotificationValidationError`."""
    durable = _durable(config, history, idempotency_key)
    user = check_user_id(user_id, keyed=durable)
    channel = user_channel(user, config.channel_prefix)
    message_id = _message_id(channel, idempotency_key)
    envelope = notification_envelope(type, data, message_id=message_id, **options)
    return _send(config, user, channel, envelope, durable, idempotency_key)


def prepare_raw(
    config: Settings, user_id: object, envelope: object, *, idempotency_key: object, history: bool
) -> Send:
    """Checks a prebuilt envelope and builds its send; raises `NotificationValidationError`."""
    durable = _durable(config, history, idempotency_key)
    user = check_user_id(user_id, keyed=durable)
    channel = user_channel(user, config.channel_prefix)
    derived = None if idempotency_key is None else _message_id(channel, idempotency_key)
    built = raw_envelope(envelope, message_id=derived)
    return _send(config, user, channel, built, durable, idempotency_key)


def prepare_disconnect(config: Settings, user_id: object, reason: object, issued_before: object) -> Send:
    """Checks a disconnect and builds the run of `disconnect.lua`."""
    user = check_user_id(user_id, keyed=True)
    channel = user_channel(user, config.channel_prefix)
    call = disconnect_call(
        user,
        config.channel_prefix,
        channel,
        config.publish_mode,
        reason=reason,
        issued_before=issued_before,
        max_token_lifetime_seconds=config.max_token_lifetime_seconds,
    )
    return Send("", channel, "", call, describe_send(config.publish_mode, "disconnect.lua"))


def _durable(config: Settings, history: bool, idempotency_key: object) -> bool:
    durable = history is not False and config.history is not None
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        if not durable:
            raise NotificationValidationError(
                "invalid_idempotency_key",
                "idempotency_key needs the history, which is off for this publish (history=False): "
                "a plain PUBLISH cannot tell a retry from a new message",
            )
    return durable


def _message_id(channel: str, idempotency_key: object) -> str:
    if idempotency_key is None:
        return new_message_id()
    assert isinstance(idempotency_key, str)
    return idempotent_message_id(channel, idempotency_key)


def _send(
    config: Settings,
    user: str,
    channel: str,
    envelope: dict[str, Any],
    durable: bool,
    idempotency_key: object,
) -> Send:
    message = serialize(envelope)
    if not durable or config.history is None:
        return Send(envelope["id"], channel, message, None, describe_send(config.publish_mode, None))
    key = idempotency_key if isinstance(idempotency_key, str) else None
    call = publish_call(user, config.channel_prefix, channel, message, config.publish_mode, config.history, key)
    return Send(envelope["id"], channel, message, call, describe_send(config.publish_mode, "publish.lua"))




class NotifierBase:
    """What `Notifier` and `AsyncNotifier` hold: the checked options and the Redis client."""

    def __init__(
        self,
        redis: object,
        open_client: Callable[[object, float], Any],
        *,
        channel_prefix: str,
        publish_mode: PublishMode,
        history: HistoryOptions | bool,
        timeout: float,
        max_token_lifetime_seconds: int,
    ) -> None:
        self._settings = settings(
            redis,
            channel_prefix=channel_prefix,
            publish_mode=publish_mode,
            history=HistoryOptions() if history is True else history,
            timeout=timeout,
            max_token_lifetime_seconds=max_token_lifetime_seconds,
        )
        # A client passed in is borrowed (never closed); a URL or seed list is opened and owned.
        self._owned = not is_client(redis)
        self._client: Any = open_client(redis, self._settings.timeout) if self._owned else redis
        self._closed = False

    @property
    def channel_prefix(self) -> str:
        """The channel prefix in use: a user's channel is `<prefix>:<user_id>`."""
        return self._settings.channel_prefix

    @property
    def publish_mode(self) -> PublishMode:
        """PUBLISH (`classic`), SPUBLISH (`sharded`) or both."""
        return self._settings.publish_mode

    @property
    def history(self) -> HistoryOptions | None:
        """The history retention in use, or None when history is off."""
        return self._settings.history

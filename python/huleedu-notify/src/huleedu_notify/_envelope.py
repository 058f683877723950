"""Building and checking the envelope `{event, data, id}` exactly as clients will read it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ._schema import describe_value, message_issues, unknown_type_message
from .catalog import CATALOG, DISCONNECT_EVENT, SERVICE_EVENT_PREFIX, SHARED_FIELDS
from .errors import NotificationValidationError

# The shared `data` fields the notifier fills, and what to pass instead.
_SHARED_FIELD_HINTS = {
    "category": "comes from the catalogue",
    "priority": "pass priority=... instead",
    "action_required": "pass action_required=... instead",
    "deadline": "pass deadline=... instead",
    "correlation_id": "pass correlation_id=... instead",
    "timestamp": "pass timestamp=... instead",
}

# Top-level fields the publish script puts first; an envelope carrying one is refused.
_SCRIPT_FIELDS = ("position", "epoch", "published_ms")


def _invalid(event: str, issues: list[str]) -> NotificationValidationError:
    return NotificationValidationError("invalid_payload", f"{event}: {'; '.join(issues)}", issues)


def _iso_time(event: str, field: str, value: object) -> object:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise _invalid(event, [f"data.{field}: a datetime without a time zone; pass an aware datetime (e.g. datetime.now(timezone.utc))"])
    text = value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def notification_envelope(
    type: object,
    data: object,
    *,
    message_id: str,
    priority: object = None,
    action_required: object = None,
    deadline: object = None,
    correlation_id: object = None,
    timestamp: object = None,
) -> dict[str, Any]:
    """The envelope of a catalogue notification: `data` plus the shared fields, checked.

    Raises `unknown_type` (naming the closest types) or `invalid_payload` (naming each field).
    """
    if not isinstance(type, str) or type not in CATALOG:
        raise NotificationValidationError("unknown_type", unknown_type_message(type))
    if not isinstance(data, Mapping):
        raise _invalid(type, [f"data: expected an object, got {describe_value(data)}"])
    shared = [field for field in SHARED_FIELDS if field in data]
    if shared:
        raise _invalid(
            type, [f"data.{field}: set by the notifier, {_SHARED_FIELD_HINTS[field]}" for field in shared]
        )
    spec = CATALOG[type]
    filled = {
        **data,
        "category": spec["category"],
        "priority": spec["priority"] if priority is None else priority,
        "action_required": spec["action_required"] if action_required is None else action_required,
        "deadline": _iso_time(type, "deadline", deadline),
        "correlation_id": str(uuid.uuid4()) if correlation_id is None else correlation_id,
        "timestamp": _iso_time(type, "timestamp", datetime.now(timezone.utc) if timestamp is None else timestamp),
    }
    return {"event": type, "data": filled, "id": message_id}


def raw_envelope(envelope: object, *, message_id: str | None) -> dict[str, Any]:
    """A prebuilt envelope `{"event", "data", "id"?}` for `publish`, its shape checked.

    The id is `message_id` when given (an idempotent publish), else the envelope's own, else new.
    Refuses `ws.*` events (the service's own) and the fields the publish script sets.
    """
    if not isinstance(envelope, Mapping):
        raise NotificationValidationError(
            "invalid_payload", f"the envelope: expected an object {{event, data, id?}}, got {describe_value(envelope)}"
        )
    event = envelope.get("event")
    name = event if isinstance(event, str) and event else "the envelope"
    if event == DISCONNECT_EVENT:
        raise _invalid(name, ["this event is the service's own command; use disconnect_user(user_id, reason=...)"])
    if isinstance(event, str) and event.startswith(SERVICE_EVENT_PREFIX):
        raise _invalid(name, [f'events starting with "{SERVICE_EVENT_PREFIX}" are reserved for the service'])
    extra = [field for field in envelope if field not in ("event", "data", "id")]
    if extra:
        issues = []
        for field in extra:
            why = "set by the publish script" if field in _SCRIPT_FIELDS else "unknown field"
            issues.append(f"{field}: {why} (an envelope has event, data and id)")
        raise _invalid(name, issues)
    given_id = envelope.get("id")
    if given_id is not None and not isinstance(given_id, str):
        raise _invalid(name, [f"id: expected a string, got {describe_value(given_id)}"])
    chosen = message_id or given_id or str(uuid.uuid4())
    return {"event": event, "data": envelope.get("data"), "id": chosen}


def serialize(envelope: dict[str, Any]) -> str:
    """The JSON text of `envelope`, checked against the protocol's JSON Schema as a client reads it
    (parsed back), so what goes on the wire is what was validated. Raises `invalid_payload`."""
    event = envelope.get("event")
    name = event if isinstance(event, str) and event else "the envelope"
    try:
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError) as error:
        raise _invalid(name, [f"data: not representable as JSON ({error})"]) from error
    issues = message_issues(json.loads(text))
    if issues:
        raise _invalid(name, issues)
    return text

"""Redis names of a user (channel, history, idempotency and revocation keys) and message ids."""

from __future__ import annotations

import secrets
import uuid

# RFC 4122 name-based ids (version 5) in the namespace @huleedu/notify uses, so a retry has the
# same message id whichever language sends it.
MESSAGE_ID_NAMESPACE = uuid.UUID("5c3f0e6a-8b1d-4f2e-9a7c-6b5d4e3f2a1b")


def user_channel(user_id: str, prefix: str) -> str:
    """The user's Redis channel: `<prefix>:<user_id>`."""
    return f"{prefix}:{user_id}"


def _tag(user_id: str, prefix: str) -> str:
    # Every key of a user sits in the hash slot of the channel (Redis Cluster hash tag).
    return "{" + user_channel(user_id, prefix) + "}"


def history_keys(user_id: str, prefix: str) -> tuple[str, str]:
    """The user's history stream and meta hash: `{<channel>}:history`, `{<channel>}:meta`."""
    tag = _tag(user_id, prefix)
    return f"{tag}:history", f"{tag}:meta"


def idempotency_key(user_id: str, key: str, prefix: str) -> str:
    """The key that remembers one idempotency key of a user: `{<channel>}:idem:<key>`."""
    return f"{_tag(user_id, prefix)}:idem:{key}"


def revocation_key(user_id: str, prefix: str) -> str:
    """The key that holds the user's revoked-before time: `{<channel>}:revoked_before`."""
    return f"{_tag(user_id, prefix)}:revoked_before"


def idempotent_message_id(channel: str, key: str) -> str:
    """The message id of a publish with an idempotency key: uuid5 of `<channel>\\n<key>`."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{channel}\n{key}"))


def new_message_id() -> str:
    """A random message id (UUID version 4)."""
    return str(uuid.uuid4())


def new_epoch() -> str:
    """A new history's epoch: 16 random URL-safe characters, used only when the user has none."""
    return secrets.token_urlsafe(12)

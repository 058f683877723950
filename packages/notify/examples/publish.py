#!/usr/bin/env python3
"""Publish a HuleEdu notification durably from Python, as @huleedu/notify does from TypeScript.

The message is stored in the user's history and published live in one atomic Redis step, by the
same Lua script @huleedu/notify runs (lua/publish.lua in the package), so a tab that reconnects
gets it replayed. Needs redis-py (Debian: apt-get install python3-redis; or pip install redis).

    python3 publish.py --redis redis://localhost:6379 --user teacher-1 --batch-id b1

prints what the script answered, e.g.
{"id": "...", "position": 3, "epoch": "k3J...", "receivers": 1, "duplicate": false}
"""

import argparse
import json
import secrets
import uuid
from datetime import datetime, timezone
from pathlib import Path

import redis

# lua/publish.lua beside this folder; copy it into your service with the version you deploy.
SCRIPT_PATH = Path(__file__).resolve().parent.parent / "lua" / "publish.lua"

# Use the same retention as every other publisher: each publish trims the user's history to it.
HISTORY_MAX_LENGTH = 100
HISTORY_TTL_SECONDS = 86_400
IDEMPOTENCY_TTL_SECONDS = 86_400

# Message ids of idempotent publishes: uuid5(this, "<channel>\n<key>"), as @huleedu/notify makes
# them, so a retry has the same id whichever language sends it.
MESSAGE_ID_NAMESPACE = uuid.UUID("5c3f0e6a-8b1d-4f2e-9a7c-6b5d4e3f2a1b")


class DurablePublisher:
    """Runs lua/publish.lua with EVALSHA (redis-py loads it again on NOSCRIPT)."""

    def __init__(self, client, prefix="ws", mode="classic", script_path=SCRIPT_PATH):
        self.prefix = prefix
        self.mode = mode  # classic (PUBLISH), sharded (SPUBLISH) or both
        self.script = client.register_script(Path(script_path).read_text(encoding="utf-8"))

    def publish(self, user_id, event, data, idempotency_key=None):
        channel = f"{self.prefix}:{user_id}"
        tag = "{" + channel + "}"  # every key in the slot of the channel (Redis Cluster)
        keys = [f"{tag}:history", f"{tag}:meta"]
        message_id = str(uuid.uuid4())
        if idempotency_key is not None:
            keys.append(f"{tag}:idem:{idempotency_key}")
            message_id = str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{channel}\n{idempotency_key}"))
        envelope = json.dumps(
            {"event": event, "data": data, "id": message_id}, separators=(",", ":")
        )
        new_epoch = secrets.token_urlsafe(12)  # used only if the user has no history yet
        position, epoch, receivers, duplicate = self.script(
            keys=keys,
            args=[
                channel,
                envelope,
                self.mode,
                HISTORY_MAX_LENGTH,
                HISTORY_TTL_SECONDS,
                new_epoch,
                IDEMPOTENCY_TTL_SECONDS,
            ],
        )
        return {
            "id": message_id,
            "position": int(position),
            "epoch": epoch.decode() if isinstance(epoch, bytes) else epoch,
            "receivers": int(receivers),
            "duplicate": duplicate == 1,
        }


def batch_results_ready(batch_id, results_count):
    """A complete catalogue notification: the payload plus the shared fields clients require."""
    return {
        "batch_id": batch_id,
        "class_id": None,
        "results_count": results_count,
        "message": f"Results for batch {batch_id} are ready",
        "category": "processing_results",
        "priority": "high",
        "action_required": False,
        "deadline": None,
        "correlation_id": str(uuid.uuid4()),
        "timestamp": datetime.now(timezone.utc).isoformat(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://localhost:6379")
    parser.add_argument("--user", default="teacher-1")
    parser.add_argument("--prefix", default="ws")
    parser.add_argument("--mode", default="classic", choices=["classic", "sharded", "both"])
    parser.add_argument("--batch-id", default="b1")
    parser.add_argument("--idempotency-key")
    args = parser.parse_args()

    client = redis.Redis.from_url(args.redis, socket_timeout=10)
    publisher = DurablePublisher(client, prefix=args.prefix, mode=args.mode)
    result = publisher.publish(
        args.user,
        "batch_results_ready",
        batch_results_ready(args.batch_id, 3),
        idempotency_key=args.idempotency_key,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

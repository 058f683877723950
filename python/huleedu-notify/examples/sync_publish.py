"""Publish one notification from blocking code (a worker, Flask, Django).

    python3 examples/sync_publish.py --redis redis://localhost:6379 --user teacher-1 --batch-id b1

prints the result, e.g. {"id": "...", "position": 3, "epoch": "k3J...", "receivers": 1, "duplicate": false}
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from huleedu_notify import Notifier, PublishMode
from huleedu_notify.catalog import BatchResultsReadyPayload


def main() -> None:
    parser = argparse.ArgumentParser(description="Publish batch_results_ready to one teacher")
    parser.add_argument("--redis", default="redis://localhost:6379")
    parser.add_argument("--user", default="teacher-1")
    parser.add_argument("--prefix", default="ws")
    parser.add_argument("--mode", default="classic", choices=["classic", "sharded", "both"])
    parser.add_argument("--batch-id", default="b1")
    parser.add_argument("--idempotency-key")
    args = parser.parse_args()
    mode: PublishMode = args.mode

    payload: BatchResultsReadyPayload = {
        "batch_id": args.batch_id,
        "results_count": 3,
        "message": f"Results for batch {args.batch_id} are ready",
    }
    with Notifier(args.redis, channel_prefix=args.prefix, publish_mode=mode) as notifier:
        result = notifier.publish_user_notification(
            args.user, "batch_results_ready", payload, idempotency_key=args.idempotency_key
        )
    print(json.dumps(dataclasses.asdict(result)))


if __name__ == "__main__":
    main()

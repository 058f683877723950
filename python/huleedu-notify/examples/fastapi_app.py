"""A FastAPI service that notifies a teacher when a batch's results are stored.

    uvicorn examples.fastapi_app:app   (with fastapi and uvicorn installed)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException

from huleedu_notify import AsyncNotifier, NotificationValidationError, PublishError

notifier = AsyncNotifier("redis://localhost:6379", timeout=2.0)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await notifier.close()


app = FastAPI(lifespan=lifespan)


@app.post("/batches/{batch_id}/results")
async def results_stored(batch_id: str, teacher_id: str, count: int) -> dict[str, object]:
    try:
        result = await notifier.publish_user_notification(
            teacher_id,
            "batch_results_ready",
            {"batch_id": batch_id, "results_count": count, "message": f"Results for {batch_id} are ready"},
            # A retry of this request publishes nothing new and reports the first position.
            idempotency_key=f"batch-{batch_id}:results",
        )
    except NotificationValidationError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    except PublishError as error:
        # Redis down or slow: nothing was lost silently; let the caller retry (same key).
        raise HTTPException(status_code=503, detail=f"{error.reason}: {error}") from error
    return {"position": result.position, "duplicate": result.duplicate}

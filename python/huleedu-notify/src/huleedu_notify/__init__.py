"""huleedu-notify: publish validated HuleEdu notifications durably from Python backends.

    from huleedu_notify import Notifier

    notifier = Notifier("redis://localhost:6379")
    result = notifier.publish_user_notification(
        "teacher-1", "batch_results_ready",
        {"batch_id": "b1", "results_count": 3, "message": "Results are ready"},
        idempotency_key="batch-b1:results",
    )
"""

from ._async import AsyncNotifier
from ._checks import PUBLISH_MODES, HistoryOptions, PublishMode
from ._connection import ClusterTarget
from ._result import PublishResult
from ._schema import protocol_schema
from ._sync import Notifier
from .catalog import (
    CATALOG,
    DEFAULT_CHANNEL_PREFIX,
    DEFAULT_HISTORY_MAX_LENGTH,
    DEFAULT_HISTORY_TTL_SECONDS,
    DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    DEFAULT_PUBLISH_TIMEOUT_SECONDS,
    NOTIFICATION_TYPES,
    Category,
    NotificationType,
    Priority,
)
from .errors import NotificationValidationError, NotifierConfigError, PublishError

__all__ = [
    "CATALOG",
    "DEFAULT_CHANNEL_PREFIX",
    "DEFAULT_HISTORY_MAX_LENGTH",
    "DEFAULT_HISTORY_TTL_SECONDS",
    "DEFAULT_IDEMPOTENCY_TTL_SECONDS",
    "DEFAULT_PUBLISH_TIMEOUT_SECONDS",
    "NOTIFICATION_TYPES",
    "PUBLISH_MODES",
    "AsyncNotifier",
    "Category",
    "ClusterTarget",
    "HistoryOptions",
    "NotificationType",
    "NotificationValidationError",
    "Notifier",
    "NotifierConfigError",
    "Priority",
    "PublishError",
    "PublishMode",
    "PublishResult",
    "protocol_schema",
]

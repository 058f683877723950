export {
  type ClusterTarget,
  ownedConnectionOptions,
  type RedisTarget,
} from './connection.js';
export {
  CLOCK_SLACK_SECONDS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  type DisconnectOptions,
} from './disconnect.js';
export {
  createNotificationEnvelope,
  createRawEnvelope,
  type EnvelopeOptions,
  type NotificationEnvelope,
  type PublishPayload,
  type RawEnvelope,
  serializeEnvelope,
} from './envelope.js';
export {
  NotificationValidationError,
  type NotificationValidationErrorCode,
  NotifierError,
  type NotifierErrorCode,
} from './errors.js';
export {
  DEFAULT_HISTORY_MAX_LENGTH,
  DEFAULT_HISTORY_TTL_SECONDS,
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  type HistoryOptions,
  type HistorySettings,
  MAX_HISTORY_LENGTH,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_TTL_SECONDS,
} from './history.js';
export {
  createNotifier,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  type DeliveryOptions,
  type Notifier,
  type NotifierOptions,
  type PublishMode,
  type PublishOptions,
  type PublishResult,
  publishModes,
} from './notifier.js';
export { publishScriptPath } from './publish-script.js';
export { MAX_USER_ID_LENGTH, userIdProblem } from './user-id.js';

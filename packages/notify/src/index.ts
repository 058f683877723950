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
  type NotificationEnvelope,
  type PublishOptions,
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
  createNotifier,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  type Notifier,
  type NotifierOptions,
  type PublishMode,
  publishModes,
} from './notifier.js';
export { MAX_USER_ID_LENGTH, userIdProblem } from './user-id.js';

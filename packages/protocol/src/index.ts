export { DEFAULT_CHANNEL_PREFIX, userChannel, userIdFromChannel } from './channel.js';
export {
  type AuthFailureReason,
  type CloseAction,
  type CloseCode,
  type CloseCodePolicy,
  type CloseReason,
  closeActionFor,
  closeCodePolicies,
  closeCodes,
  closeReasons,
} from './close-codes.js';
export {
  describeIssues,
  type Envelope,
  envelopeSchema,
  type ParseEnvelopeResult,
  parseEnvelope,
  type SchemaIssue,
} from './envelope.js';
export { heartbeat } from './heartbeat.js';
export {
  type Category,
  categories,
  categorySchema,
  isNotificationType,
  type Notification,
  type NotificationData,
  type NotificationMeta,
  type NotificationPayload,
  type NotificationSpec,
  type NotificationType,
  notificationCatalog,
  notificationMetaSchema,
  notificationTypes,
  type Priority,
  priorities,
  prioritySchema,
} from './notifications.js';
export { type ValidateNotificationResult, validateNotification } from './validate.js';

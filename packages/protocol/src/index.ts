export { DEFAULT_CHANNEL_PREFIX, userChannel, userIdFromChannel } from './channel.js';
export {
  type AuthFailureReason,
  authFailureReasons,
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
  checkEnvelope,
  type Envelope,
  type ParseEnvelopeResult,
  parseEnvelope,
} from './envelope.js';
export {
  checkFields,
  describeValue,
  type FieldKind,
  type FieldSpec,
  type FieldSpecs,
  type FieldsValue,
  ISO_TIME,
  isRecord,
  type ParsedSpec,
  parseSpec,
  type SpecValue,
} from './fields.js';
export { heartbeat } from './heartbeat.js';
export {
  isNotificationType,
  type Notification,
  type NotificationData,
  type NotificationMeta,
  type NotificationPayload,
  type NotificationSpec,
  type NotificationType,
  notificationCatalog,
  notificationMetaFields,
  notificationTypes,
} from './notifications.js';
export { checkPayload, type ValidateNotificationResult, validateNotification } from './validate.js';
export { type Category, categories, type Priority, priorities } from './values.js';

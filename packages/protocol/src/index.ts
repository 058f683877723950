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
  envelopeSchema,
  type ParseEnvelopeResult,
  parseEnvelope,
} from './envelope.js';
export {
  type Category,
  categories,
  categorySchema,
  count,
  flag,
  ISO_TIME,
  id,
  isoTime,
  type Priority,
  priorities,
  prioritySchema,
  seconds,
  text,
  texts,
} from './fields.js';
export { heartbeat } from './heartbeat.js';
export {
  controlEvents,
  EPOCH_PATTERN,
  HISTORY_ENTRY_FIELD,
  type HistoryKeys,
  historyKeys,
  idempotencyKey,
  type PublishScriptReply,
  positionFields,
  type ResyncData,
  type ResyncReason,
  readPublishScriptReply,
  resumeParams,
  resyncDataSchema,
  resyncReasons,
  type SyncedData,
  syncedDataSchema,
} from './history.js';
export {
  describeIssues,
  describeValue,
  findIssues,
  reportInput,
  type SchemaIssue,
} from './issues.js';
export {
  type DataSchema,
  dataSchemas,
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
  type PublishedDataSchema,
  publishedDataSchemas,
} from './notifications.js';
export {
  DISCONNECT_REASON_PATTERN,
  type DisconnectData,
  disconnectDataSchema,
  isRevoked,
  revocationKey,
  userCommands,
} from './revocation.js';
export { checkPayload, type ValidateNotificationResult, validateNotification } from './validate.js';

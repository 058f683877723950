export {
  channelPrefixProblem,
  DEFAULT_CHANNEL_PREFIX,
  hashTagProblem,
  MAX_USER_ID_LENGTH,
  subjectPatternProblem,
  userChannel,
  userIdFromChannel,
  userIdProblem,
} from './channel.js';
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
  LINK_PATTERN,
  link,
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
  positionFields,
  type ResyncData,
  type ResyncReason,
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
  type ParseRefreshResult,
  parseRefreshTokenFrame,
  type RefreshTokenData,
  refreshEvents,
  refreshTokenDataSchema,
  refreshTokenFrame,
  refreshTokenMessageSchema,
  type TokenRefreshedData,
  tokenRefreshedDataSchema,
  tokenRefreshedFrame,
} from './refresh.js';
export { isReservedEvent, RESERVED_EVENT_PREFIX } from './reserved-events.js';
export {
  DISCONNECT_REASON_PATTERN,
  type DisconnectData,
  disconnectDataSchema,
  isRevoked,
  revocationKey,
  userCommands,
} from './revocation.js';
export {
  BEARER_SUBPROTOCOL_PREFIX,
  MAX_TOKEN_LENGTH,
  parseTokenSubprotocols,
  TOKEN_QUERY_PARAM,
  type TokenSubprotocols,
  tokenSubprotocols,
  WS_SUBPROTOCOL,
} from './token-transport.js';
export { checkPayload, type ValidateNotificationResult, validateNotification } from './validate.js';

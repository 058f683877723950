export {
  type Admission,
  createHandshakeAuth,
  type HandshakeAuth,
  tokenFromRequestUrl,
} from './auth.js';
export { Backplane, type BackplaneOptions } from './backplane.js';
export { ClientSocket, type SyncState, syncStates } from './client-socket.js';
export { ClusterMetrics, metricsUnavailable } from './cluster-metrics.js';
export {
  ConfigError,
  type ConfigIssue,
  defaults,
  envSchema,
  type HistorySettings,
  historyModes,
  type JwtAlgorithm,
  jwtAlgorithms,
  type LoadSettingsResult,
  type LogLevel,
  loadSettings,
  logLevels,
  MAX_WORKERS,
  normalizeOrigin,
  type PubSubMode,
  pubsubModes,
  type RedisMode,
  type RedisSettings,
  redisModes,
  type Settings,
  settingsFromEnv,
} from './config.js';
export {
  type ClusterState,
  checkReadiness,
  type Readiness,
  withClusterState,
} from './health.js';
export { type SocketMark, type SyncOutcome, syncOutcome } from './history-outcome.js';
export {
  type HistoryEntry,
  HistoryReadError,
  HistoryReader,
  type HistoryReaderOptions,
  type HistoryReadRequest,
  type HistorySnapshot,
  READ_SCRIPT,
} from './history-reader.js';
export {
  type HistoryAdmission,
  type HistorySource,
  HistorySync,
  type HistorySyncOptions,
  type LiveHistory,
} from './history-sync.js';
export { createLogger, type Logger } from './logger.js';
export {
  type CatchUpCause,
  type HandshakeOutcome,
  type HistoryReadFailure,
  type HistoryStats,
  METRIC_PREFIX,
  type RedisSubscriberStats,
  type ResumeOutcome,
  ServiceMetrics,
} from './metrics.js';
export { type PrimaryHandle, type PrimaryOptions, startPrimary } from './primary.js';
export {
  type ClusterSeeds,
  clusterSeeds,
  RedisClusterTopology,
  type RedisClusterTopologyOptions,
} from './redis-cluster-topology.js';
export { ConnectionRegistry } from './registry.js';
export {
  type ParsedResumeRequest,
  parseResumeRequest,
  type ResumeRequest,
} from './resume-request.js';
export type { MetricsExposition } from './server.js';
export { type ServiceDeps, type ServiceHandle, startService } from './service.js';
export { SubscriberLink, type SubscriberLinkOptions } from './subscriber-link.js';
export { serviceV8Flags, withServiceV8Flags } from './v8-flags.js';
export { type ClusterView, WorkerLink, type WorkerLinkOptions } from './worker-link.js';

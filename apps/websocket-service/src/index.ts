export {
  type Admission,
  createHandshakeAuth,
  type HandshakeAuth,
  tokenFromRequestUrl,
} from './auth.js';
export { Backplane, type BackplaneOptions } from './backplane.js';
export { ClientSocket } from './client-socket.js';
export { ClusterMetrics, metricsUnavailable } from './cluster-metrics.js';
export {
  ConfigError,
  type ConfigIssue,
  defaults,
  envSchema,
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
export { createLogger, type Logger } from './logger.js';
export { METRIC_PREFIX, type RedisSubscriberStats, ServiceMetrics } from './metrics.js';
export { type PrimaryHandle, type PrimaryOptions, startPrimary } from './primary.js';
export {
  RedisClusterTopology,
  type RedisClusterTopologyOptions,
} from './redis-cluster-topology.js';
export { ConnectionRegistry } from './registry.js';
export type { MetricsExposition } from './server.js';
export { type ServiceDeps, type ServiceHandle, startService } from './service.js';
export { SubscriberLink, type SubscriberLinkOptions } from './subscriber-link.js';
export { type ClusterView, WorkerLink, type WorkerLinkOptions } from './worker-link.js';

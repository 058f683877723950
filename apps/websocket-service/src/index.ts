export {
  type Admission,
  createHandshakeAuth,
  type HandshakeAuth,
  tokenFromRequestUrl,
} from './auth.js';
export { Backplane, type BackplaneOptions } from './backplane.js';
export { ClientSocket } from './client-socket.js';
export {
  ConfigError,
  type ConfigIssue,
  defaults,
  type JwtAlgorithm,
  jwtAlgorithms,
  type LoadSettingsResult,
  type LogLevel,
  loadSettings,
  logLevels,
  normalizeOrigin,
  type Settings,
  settingsFromEnv,
} from './config.js';
export { checkReadiness, type Readiness } from './health.js';
export { createLogger, type Logger } from './logger.js';
export { METRIC_PREFIX, ServiceMetrics } from './metrics.js';
export { ConnectionRegistry } from './registry.js';
export { type ServiceDeps, type ServiceHandle, startService } from './service.js';

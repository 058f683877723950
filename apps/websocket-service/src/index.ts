// What other packages use: the embedding API of the README (settings, logger, service), the
// configuration schema and defaults the deploy manifests are checked against, and the V8 flags the
// bench starts service processes with. Everything else is internal to the service.
export {
  ConfigError,
  type ConfigIssue,
  defaults,
  envSchema,
  loadSettings,
  type Settings,
  settingsFromEnv,
} from './config.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { type ServiceDeps, type ServiceHandle, startService } from './service.js';
export { serviceV8Flags, withServiceV8Flags } from './v8-flags.js';

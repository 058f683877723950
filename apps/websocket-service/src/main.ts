import { loadSettings } from './config.js';
import { createLogger } from './logger.js';
import { startService } from './service.js';

/**
 * Process entry point: configuration from the environment, one service instance, and signal
 * handling. Everything else is wired in `startService`.
 */
async function main(): Promise<void> {
  const loaded = loadSettings(process.env);
  if (!loaded.ok) {
    const logger = createLogger({ level: 'info' });
    logger.fatal(
      { issues: loaded.issues },
      `invalid configuration: ${loaded.issues.map((i) => `${i.variable} ${i.message}`).join('; ')}`,
    );
    process.exit(1);
  }
  const settings = loaded.settings;
  const logger = createLogger({ level: settings.logLevel });

  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error.message, stack: error.stack }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: String(reason) }, 'unhandled promise rejection');
    process.exit(1);
  });

  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(settings, { logger });
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'cannot start');
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    // A hard bound in case something (a stuck socket, Redis) ignores the grace period.
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, settings.shutdownGraceMs + 10_000).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();

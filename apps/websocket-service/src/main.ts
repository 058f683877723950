import cluster from 'node:cluster';
import { loadSettings, type Settings } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { WORKER_SLOT_ENV } from './workers/messages.js';

/**
 * Process entry point: configuration from the environment, signal handling and exit codes. With
 * `WEBSOCKET_WORKERS=1` it runs one service instance; with more, this same file runs as the
 * primary of the worker processes (`workers/primary.ts`) and as each worker (a service instance
 * linked to the primary).
 * The service and the primary are imported lazily so the primary never loads ws or ioredis.
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

  if (settings.workers === 1) await runSingleProcess(settings, logger);
  else if (cluster.isPrimary) await runPrimary(settings, logger);
  else await runWorker(settings, logger);
}

/** One process serves everything; SIGTERM/SIGINT drain it, a second signal exits 1 at once. */
async function runSingleProcess(settings: Settings, logger: Logger): Promise<void> {
  const { startService } = await import('./service.js');
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(settings, { logger });
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'cannot start');
    process.exit(1);
  }
  onShutdownSignal(logger, (signal, first) => {
    if (!first) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    drainAndExit(service, settings, logger);
  });
}

/** The cluster primary: forks the workers, forwards SIGTERM/SIGINT, exits when they have. */
async function runPrimary(settings: Settings, logger: Logger): Promise<void> {
  const { startPrimary } = await import('./workers/primary.js');
  const primary = startPrimary({
    workers: settings.workers,
    host: settings.host,
    shutdownGraceMs: settings.shutdownGraceMs,
    logger,
  });
  primary.listening.catch((error: Error) => {
    logger.fatal({ err: error.message }, 'cannot start');
    primary.kill();
    process.exit(1);
  });
  onShutdownSignal(logger, (signal, first) => {
    if (!first) {
      logger.warn({ signal }, 'second signal during shutdown; killing workers');
      primary.kill();
      process.exit(1);
    }
    primary.stop().then((code) => process.exit(code));
  });
}

/** One worker: a full service instance (its own Redis subscriber) linked to the primary. */
async function runWorker(settings: Settings, parentLogger: Logger): Promise<void> {
  const slot = Number(process.env[WORKER_SLOT_ENV]);
  const logger = parentLogger.child({ worker: slot });
  const [{ startService }, { processChannel, WorkerLink }] = await Promise.all([
    import('./service.js'),
    import('./workers/worker-link.js'),
  ]);
  const link = new WorkerLink({
    slot,
    workers: settings.workers,
    channel: processChannel(),
    logger,
  });
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(settings, { logger, cluster: link });
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'cannot start');
    process.exit(1);
  }
  link.attach(service);
  // The primary forwards its signal, and a terminal's Ctrl-C reaches the whole process group:
  // a worker may see two signals for one shutdown, so later ones are ignored here. Forcing is
  // the primary's job (it kills workers that outlive the grace period).
  onShutdownSignal(logger, (_signal, first) => {
    if (first) drainAndExit(service, settings, logger);
  });
}

/** Calls `handle` for SIGTERM and SIGINT, telling it whether this is the first such signal. */
function onShutdownSignal(
  logger: Logger,
  handle: (signal: NodeJS.Signals, first: boolean) => void,
): void {
  let seen = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const first = !seen;
    seen = true;
    if (first) logger.info({ signal }, 'signal received');
    handle(signal, first);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Graceful shutdown of one service instance, then exit 0 (1 if it fails or takes too long). */
function drainAndExit(
  service: { close(): Promise<void> },
  settings: Settings,
  logger: Logger,
): void {
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
}

void main();

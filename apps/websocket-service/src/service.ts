import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier, type TokenVerifier } from '@huleedu/auth';
import { createHandshakeAuth } from './auth.js';
import type { ClientSocket } from './client-socket.js';
import type { Settings } from './config.js';
import { createDelivery } from './delivery.js';
import { checkReadiness } from './health.js';
import { HistoryReader } from './history/reader.js';
import { HistorySync } from './history/sync.js';
import { startKeepalive } from './keepalive.js';
import { ConnectionBudget } from './limits/connection-budget.js';
import { TcpConnectionCap } from './limits/tcp-connection-cap.js';
import type { Logger } from './logger.js';
import { type HistoryStats, ServiceMetrics } from './metrics.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { Backplane } from './redis/backplane.js';
import { ConnectionRegistry } from './registry.js';
import { RevocationStore } from './revocation/store.js';
import { RevocationSweep } from './revocation/sweep.js';
import { createHttpServer } from './server.js';
import { Sessions } from './sessions.js';
import { TokenExpiry } from './token-expiry.js';
import { createUserCommandHandler } from './user-commands.js';
import type { WorkerSetView } from './workers/worker-link.js';

/** Collaborators of {@link startService}; tests and cluster workers pass their own. */
export interface ServiceDeps {
  readonly logger: Logger;
  /** Defaults to a verifier built from `settings.jwt`. */
  readonly verifier?: TokenVerifier;
  /** Register Node.js process metrics (default true; off when several services share a process). */
  readonly processMetrics?: boolean;
  /**
   * Multi-process mode: this instance is one worker of several behind one port, and answers
   * `/readyz` and `/metrics` for the whole set through this view (see `workers/worker-link.ts`).
   */
  readonly cluster?: WorkerSetView;
}

/** A running service instance. */
export interface ServiceHandle {
  /** The port actually bound (useful when `settings.port` is 0). */
  readonly port: number;
  /** The HTTP server (for tests). */
  readonly server: Server;
  readonly metrics: ServiceMetrics;
  /** Whether this instance is ready (in multi-process mode: this worker, not the whole set). */
  isReady(): boolean;
  /**
   * Graceful shutdown: readiness turns 503 at once, new handshakes are refused with 1001, every
   * socket is closed with 1001 `server_shutdown` (stragglers terminated after the grace period),
   * the port is closed and Redis is left cleanly. Idempotent: later calls return the same promise.
   */
  close(): Promise<void>;
}

/**
 * Builds and starts one service instance: the only place where the modules are wired together.
 * Resolves once the port accepts connections (Redis may still be connecting; readiness reports
 * it). Signal handling is the caller's business (see `main.ts`).
 */
export async function startService(settings: Settings, deps: ServiceDeps): Promise<ServiceHandle> {
  const { logger, cluster } = deps;
  const verifier = deps.verifier ?? createTokenVerifier(settings.jwt);
  const registry = new ConnectionRegistry<ClientSocket>(settings.maxConnectionsPerUser);
  // One budget of log lines for every drop a client can trigger at will.
  const dropLog = new RateLimitedLog({ logger });
  let draining = false;

  // Assigned right below; the metric sources and the message handler read it lazily.
  let backplane: Backplane | undefined;
  const tcpCap = new TcpConnectionCap({
    maxConnections: settings.maxTcpConnections,
    onDrop: (reason, open) => {
      metrics.tcpConnectionDropped(reason);
      dropLog.warn(
        'tcp_capacity',
        { reason, open, max: settings.maxTcpConnections },
        reason === 'idle_evicted'
          ? 'at the TCP connection cap: closed the oldest idle connection to make room'
          : 'at the TCP connection cap with every connection busy: closed a new connection',
      );
    },
  });
  const metrics = new ServiceMetrics(
    {
      connections: () => registry.size,
      users: () => registry.userCount,
      redisConnected: () => backplane?.connected ?? false,
      subscribedChannels: () => backplane?.channelCount ?? 0,
      draining: () => draining,
      logLinesSuppressed: () => dropLog.suppressedTotal,
      tcpConnections: () => tcpCap.open,
      redisSubscribers: () => ({
        total: backplane?.subscriberCount ?? 0,
        ready: backplane?.readySubscriberCount ?? 0,
        resubscribes: backplane?.resubscribes ?? 0,
        subscribeFailures: backplane?.subscribeFailures ?? 0,
      }),
      // Declared below, read at scrape time only.
      history: (): HistoryStats | undefined => history?.stats(),
    },
    {
      defaultMetrics: deps.processMetrics ?? true,
      ...(cluster === undefined ? {} : { workerSlot: cluster.slot }),
    },
  );
  // Cutting a user off (disconnectUser): the key read at every handshake, the re-read that closes
  // the windows a ws.disconnect command can miss, and the command itself (in delivery).
  const revocations = new RevocationStore({
    redis: settings.redis,
    channelPrefix: settings.channelPrefix,
    timeoutMs: settings.revocationTimeoutMs,
    logger,
  });
  const revokedBefore = (userId: string) => revocations.revokedBefore(userId);
  const socketsOf = (userId: string) => registry.socketsOf(userId);
  const closeRevoked = (socket: ClientSocket) => sessions.closeRevoked(socket);
  const revocationSweep = new RevocationSweep<ClientSocket>({
    revokedBefore,
    socketsOf,
    close: closeRevoked,
    logger,
  });
  const history: HistorySync | undefined =
    settings.history === undefined
      ? undefined
      : new HistorySync({
          registry,
          source: new HistoryReader({
            redis: settings.redis,
            channelPrefix: settings.channelPrefix,
            logger,
            timeoutMs: settings.history.readTimeoutMs,
          }),
          settings: settings.history,
          isSubscribed: (userId) => backplane?.isSubscribed(userId) ?? false,
          metrics,
          logger,
          dropLog,
          maxBufferedBytes: settings.maxBufferedBytes,
        });
  const deliver = createDelivery({
    registry,
    metrics,
    dropLog,
    maxBufferedBytes: settings.maxBufferedBytes,
    ...(history === undefined ? {} : { history }),
    onUserCommand: createUserCommandHandler({ socketsOf, closeRevoked, metrics, dropLog }),
  });
  backplane = new Backplane({
    redis: settings.redis,
    pubsub: settings.pubsub,
    channelPrefix: settings.channelPrefix,
    logger,
    onMessage: deliver,
    // Redis confirmed these users' channels (new, or again after a reconnect or a move): what was
    // published before may have been missed, a ws.disconnect included, so read their revocations.
    onSubscribed: (userIds) => {
      history?.onSubscribed(userIds);
      revocationSweep.recheckAll(userIds);
    },
  });
  const channels = backplane;
  // Ready: notifications can flow and handshakes can be checked against revocations.
  const readiness = () =>
    checkReadiness({
      redisConnected: () => channels.connected && revocations.connected,
      draining: () => draining,
    });

  const forEachSocket = (visit: (socket: ClientSocket) => void) => registry.forEachSocket(visit);
  const expiry = new TokenExpiry<ClientSocket>({
    forEachSocket,
    onExpired: (socket) => sessions.closeExpired(socket),
  });
  const sessions = new Sessions({
    auth: createHandshakeAuth({
      verifier,
      logger,
      ...(settings.allowedOrigins === undefined ? {} : { allowedOrigins: settings.allowedOrigins }),
    }),
    registry,
    channels,
    metrics,
    logger,
    maxPayloadBytes: settings.maxPayloadBytes,
    maxBufferedBytes: settings.maxBufferedBytes,
    inboundBudget: settings.inboundBudget,
    dropLog,
    budget: new ConnectionBudget(settings.connectionLimits),
    trustedProxies: new Set(settings.trustedProxies),
    clockToleranceMs: settings.jwt.clockToleranceSeconds * 1000,
    onAdmitted: (socket) => {
      expiry.track(socket.expiresAt);
      revocationSweep.recheck(socket.userId);
    },
    revokedBefore,
    ...(history === undefined ? {} : { history }),
  });
  const server = createHttpServer({
    upgrade: (request, socket, head) => sessions.handleUpgrade(request, socket, head),
    readiness: cluster === undefined ? readiness : () => cluster.readiness(readiness()),
    metrics: cluster === undefined ? () => metrics.render() : () => cluster.metrics(),
    logger,
    requestTimeoutMs: settings.requestTimeoutMs,
    onClientError: (kind) => {
      metrics.clientError(kind);
      dropLog.info(
        kind,
        {},
        kind === 'request_timeout'
          ? 'closed a connection that sent no complete request in time (408)'
          : 'closed a connection that sent malformed HTTP (400)',
      );
    },
  });

  tcpCap.attach(server);
  await listen(server, settings.port, settings.host);
  const port = (server.address() as AddressInfo).port;
  backplane.start();
  revocations.start();
  history?.start();
  expiry.start();
  const stopKeepalive = startKeepalive<ClientSocket>({
    intervalMs: settings.pingIntervalMs,
    count: () => registry.size,
    cursor: registry.cursor(),
    onDeadPeer: (socket) => {
      metrics.serverClosed('dead_peer');
      logger.debug({ userId: socket.userId }, 'peer did not answer ping; terminated');
    },
  });
  // In multi-process mode the primary logs `listening` once every worker does.
  logger.info(
    { port, host: settings.host },
    cluster === undefined ? 'listening' : 'worker listening',
  );

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    draining = true;
    logger.info({ connections: registry.size }, 'shutting down');
    stopKeepalive();
    expiry.stop();
    await sessions.drain(settings.shutdownGraceMs);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    revocationSweep.stop();
    await Promise.all([channels.close(), history?.close(), revocations.close()]);
    dropLog.close();
    logger.info('stopped');
  };

  return {
    port,
    server,
    metrics,
    isReady: () => readiness().ready,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new Error(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

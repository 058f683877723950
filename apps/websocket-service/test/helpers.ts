import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ClientSocket } from '../src/client-socket.js';
import { createLogger, type Logger } from '../src/logger.js';
import { ServiceMetrics } from '../src/metrics.js';
import type { ConnectionRegistry } from '../src/registry.js';

/** A real pino logger whose JSON lines are kept in memory for assertions. */
export function captureLogger(level: 'debug' | 'info' | 'warn' = 'debug'): {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  text: () => string;
} {
  const raw: string[] = [];
  const logger = createLogger({
    level,
    destination: { write: (line: string) => void raw.push(line) },
  });
  return {
    logger,
    get lines() {
      return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

/** A real server-side {@link ClientSocket} connected to a real `ws` client over loopback. */
export interface SocketPair {
  server: ClientSocket;
  client: WebSocket;
}

/** Opens real WebSocket pairs on one loopback server; `close()` tears everything down. */
export async function socketPairs(options: { maxPayload?: number } = {}): Promise<{
  open: (clientOptions?: ConstructorParameters<typeof WebSocket>[2]) => Promise<SocketPair>;
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    WebSocket: ClientSocket,
    ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
  });
  const pending: Array<(socket: ClientSocket) => void> = [];
  const all: Array<ClientSocket | WebSocket> = [];
  const http: Server = createServer();
  http.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      // As Sessions does: prebuilt frames are written to the TCP connection.
      (ws as ClientSocket).transport = socket as Socket;
      all.push(ws as ClientSocket);
      pending.shift()?.(ws as ClientSocket);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    open: async (clientOptions) => {
      const serverSide = new Promise<ClientSocket>((resolve) => pending.push(resolve));
      const client = new WebSocket(`ws://127.0.0.1:${port}/`, clientOptions);
      all.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('open', () => resolve());
        client.once('error', reject);
      });
      return { server: await serverSide, client };
    },
    close: async () => {
      for (const socket of all) socket.terminate();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Collects the text frames a client receives. */
export function textFrames(client: WebSocket): string[] {
  const frames: string[] = [];
  client.on('message', (data, isBinary) => {
    frames.push(isBinary ? `<binary ${String(data)}>` : String(data));
  });
  return frames;
}

/** Resolves with the close code and reason the client sees. */
export function closeOf(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    client.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/** Service metrics whose connection gauges read `registry` (Redis connected, not draining). */
export function registryMetrics(registry: ConnectionRegistry<ClientSocket>): ServiceMetrics {
  return new ServiceMetrics(
    {
      connections: () => registry.size,
      users: () => registry.userCount,
      redisConnected: () => true,
      subscribedChannels: () => 0,
      draining: () => false,
    },
    { defaultMetrics: false },
  );
}

import { handshakeToken, heartbeat, WS_SUBPROTOCOL } from '@huleedu/ws-protocol';
import { afterEach, beforeEach } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { closeTestClients } from './clients.js';

/** One socket a client opened on the {@link ScriptedServer}. */
export interface ServerConnection {
  /** The token the client connected with: `?token=` or the `Sec-WebSocket-Protocol` bearer entry. */
  token: string | null;
  /** Where the token came from: `query`, `subprotocol`, or null without one. */
  tokenVia: 'query' | 'subprotocol' | null;
  /** The request target as the client sent it (`/ws?position=...`). */
  target: string;
  /** The subprotocol the server selected (`huleedu.v1` when offered), or ''. */
  protocol: string;
  /** Every query parameter the client connected with (`position`, `epoch`, `recent`, ...). */
  query: URLSearchParams;
  socket: WebSocket;
  /** Text frames received, `ping`s included. */
  received: string[];
}

/** A real WebSocket server on 127.0.0.1 whose behaviour each test scripts. */
export interface ScriptedServer {
  /** `ws://127.0.0.1:<port>/ws` */
  url: string;
  connections: ServerConnection[];
  /** Runs for each new connection (after it is recorded); default: nothing. */
  onConnection: (connection: ServerConnection) => void;
  /** When false, `ping` frames go unanswered, as from a frozen service. Default true. */
  answerPings: boolean;
  /** Sends a text frame to every open socket. */
  broadcast(text: string): void;
  close(): Promise<void>;
}

/** Starts a {@link ScriptedServer}: a real `ws` server, like the service but scriptable. */
export async function startScriptedServer(): Promise<ScriptedServer> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/ws',
    // As the service does: select huleedu.v1 when offered, never the bearer entry.
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const server: ScriptedServer = {
    url: `ws://127.0.0.1:${port}/ws`,
    connections: [],
    onConnection: () => {},
    answerPings: true,
    broadcast(text) {
      for (const { socket } of server.connections) {
        if (socket.readyState === socket.OPEN) socket.send(text);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (socket, request) => {
    const target = request.url ?? '/';
    const query = new URL(target, 'http://localhost').searchParams;
    const found = handshakeToken(target, request.headers['sec-websocket-protocol']);
    const connection: ServerConnection = {
      token: found.ok ? found.token : null,
      tokenVia: found.ok ? found.via : null,
      target,
      protocol: socket.protocol,
      query,
      socket,
      received: [],
    };
    server.connections.push(connection);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      connection.received.push(text);
      if (text === heartbeat.PING && server.answerPings) socket.send(heartbeat.PONG);
    });
    server.onConnection(connection);
  });
  return server;
}

/**
 * Starts a {@link ScriptedServer} before each test of the file and, after each, closes the test
 * clients and the server; the returned function gives the running server.
 */
export function scriptedServerPerTest(): () => ScriptedServer {
  let server: ScriptedServer | undefined;
  beforeEach(async () => {
    server = await startScriptedServer();
  });
  afterEach(async () => {
    closeTestClients();
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('the scripted server is not running (use it inside a test)');
    return server;
  };
}

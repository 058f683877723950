/**
 * The reference relay: the least a Node process must do to relay targeted notifications from
 * Redis to authenticated WebSockets (ws + ioredis, one subscriber, a JWT check, nothing else).
 * No metrics, no limits, no heartbeat, no validation: it is the practical ceiling the service is
 * measured against, not a product. Run by the bench as a child process.
 */
import { createServer } from 'node:http';
import { closeCodes, userChannel } from '@huleedu/ws-protocol';
import { Redis } from 'ioredis';
import { type WebSocket, WebSocketServer } from 'ws';
import { announceListening, exitWithParent, readBaselineSettings } from './server-env.js';

const settings = readBaselineSettings();
exitWithParent();
const subscriber = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
const socketsByChannel = new Map<string, Set<WebSocket>>();

subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const sockets = socketsByChannel.get(channel.toString());
  if (!sockets) return;
  // The payload goes out as the bytes Redis delivered, as a text frame: no decode, no re-encode.
  for (const socket of sockets) socket.send(message, { binary: false });
});
subscriber.on('error', (error) => process.stderr.write(`redis: ${error.message}\n`));

function attach(socket: WebSocket, userId: string): void {
  const channel = userChannel(userId, settings.channelPrefix);
  let sockets = socketsByChannel.get(channel);
  if (!sockets) {
    sockets = new Set();
    socketsByChannel.set(channel, sockets);
    void subscriber.subscribe(channel);
  }
  sockets.add(socket);
  socket.on('error', () => socket.terminate());
  socket.once('close', () => {
    const current = socketsByChannel.get(channel);
    if (!current) return;
    current.delete(socket);
    if (current.size === 0) {
      socketsByChannel.delete(channel);
      void subscriber.unsubscribe(channel);
    }
  });
}

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
});
const server = createServer((_request, response) => {
  response.writeHead(404).end();
});

server.on('upgrade', (request, socket, head) => {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  let userId: string;
  try {
    if (path !== '/ws') throw new Error('not found');
    userId = settings.verify(new URLSearchParams(url.slice(query + 1)).get('token'));
  } catch {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => attach(ws, userId));
});

process.once('SIGTERM', () => {
  for (const sockets of socketsByChannel.values()) {
    for (const socket of sockets) socket.close(closeCodes.GOING_AWAY, 'server_shutdown');
  }
  server.close();
  void subscriber.quit().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
});

// Accept sockets only once the subscriber is ready: a SUBSCRIBE sent while ioredis is still
// connecting races its ready check, and the loser is a user who silently gets nothing.
subscriber.once('ready', () => {
  server.listen(settings.port, settings.host, () => {
    const address = server.address();
    announceListening(typeof address === 'object' && address ? address.port : settings.port);
  });
});

/**
 * What a Node team would build instead: Socket.IO 4 with the Redis adapter, the JWT in the
 * handshake `auth`, one room per user, backends emitting through `@socket.io/redis-emitter`.
 * WebSocket transport only, so the comparison with the other servers is like for like.
 * Run by the bench as a child process.
 */
import { createServer } from 'node:http';
import { userChannel } from '@huleedu/ws-protocol';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { announceListening, exitWithParent, readBaselineSettings } from './server-env.js';

const settings = readBaselineSettings();
exitWithParent();
const pubClient = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
const subClient = pubClient.duplicate();
for (const client of [pubClient, subClient]) {
  client.on('error', (error) => process.stderr.write(`redis: ${error.message}\n`));
}

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  adapter: createAdapter(pubClient, subClient),
});

io.use((socket, next) => {
  try {
    socket.data.userId = settings.verify((socket.handshake.auth as { token?: unknown }).token);
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

io.on('connection', (socket) => {
  void socket.join(userChannel(socket.data.userId as string, settings.channelPrefix));
});

process.once('SIGTERM', () => {
  io.close();
  void Promise.allSettled([pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
});

httpServer.listen(settings.port, settings.host, () => {
  const address = httpServer.address();
  announceListening(typeof address === 'object' && address ? address.port : settings.port);
});

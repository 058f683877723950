// Live memory per idle authenticated socket, after forced garbage collection: starts the service
// in this process (so gc() reaches it), opens N sockets from a child process, and prints the
// growth of RSS, V8 heap in use and V8 heap reserved, per socket.
//   node --expose-gc bench/scripts/heap-per-socket.mjs [sockets]   (after pnpm build)
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@huleedu/auth';
import { startRedis } from '@huleedu/test-support';
import { createLogger, settingsFromEnv, startService } from '@huleedu/websocket-service';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const sockets = Number(process.argv[2] ?? 10_000);
const secret = 'heap-per-socket';
const redis = await startRedis();
const service = await startService(
  settingsFromEnv({
    JWT_SECRET_KEY: secret,
    WEBSOCKET_SERVICE_PORT: '0',
    WEBSOCKET_SERVICE_HOST: '127.0.0.1',
    WEBSOCKET_REDIS_URL: redis.url,
    WEBSOCKET_MAX_CONNECTIONS_PER_USER: '10',
    LOG_LEVEL: 'silent',
  }),
  { logger: createLogger({ level: 'silent' }) },
);
const sample = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage();
};
await new Promise((resolve) => setTimeout(resolve, 1000));
const before = sample();

// Two tabs per user, as in pnpm bench; tokens go through a file (too many for argv).
const tokensFile = join(tmpdir(), `heap-per-socket-${process.pid}.json`);
const tokens = Array.from({ length: Math.ceil(sockets / 2) }, (_, i) =>
  signToken(`user-${i}`, { secret }),
);
writeFileSync(tokensFile, JSON.stringify(tokens));
const clients = fork(new URL('./heap-per-socket-clients.mjs', import.meta.url), [
  `ws://127.0.0.1:${service.port}/ws`,
  String(sockets),
  tokensFile,
]);
const { open } = await new Promise((resolve) => clients.once('message', resolve));
await new Promise((resolve) => setTimeout(resolve, 2000));
const after = sample();
const perSocket = (key) => `${((after[key] - before[key]) / open / 1024).toFixed(2)} KiB`;
console.log(
  `${open} sockets; per socket after GC: rss ${perSocket('rss')}, V8 heap used ${perSocket('heapUsed')}, V8 heap reserved ${perSocket('heapTotal')}`,
);
clients.send('stop');
await service.close();
await redis.stop();
process.exit(0);

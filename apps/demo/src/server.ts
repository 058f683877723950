// Entry point: `node apps/demo/dist/server.js`. Reads the environment, serves the demo page and
// its API, and shuts down cleanly on SIGTERM / SIGINT.
import { fileURLToPath } from 'node:url';
import { createNotifier } from '@huleedu/notify';
import { Redis } from 'ioredis';
import { createDemoServer } from './app.js';
import { DemoConfigError, loadConfig } from './config.js';
import { demoHistory } from './history.js';

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof DemoConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}

const notifier = createNotifier({ redis: config.redisUrl, channelPrefix: config.channelPrefix });
// A second, small connection for the "lose the history" button; fails fast like the notifier's.
const redis = new Redis(config.redisUrl, {
  lazyConnect: true,
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
});
const server = createDemoServer({
  config,
  notifier,
  history: demoHistory(redis, config.userId, config.channelPrefix),
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
});

server.on('error', (error) => {
  console.error(`demo server failed: ${error.message}`);
  process.exit(1);
});
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log({
    msg: 'listening',
    url: `http://${config.host}:${port}/`,
    port,
    userId: config.userId,
    websocketUrl: config.publicWebSocketUrl,
  });
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ msg: 'stopping', signal });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await notifier.close();
  redis.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

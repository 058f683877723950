// A Python backend publishing with huleedu-notify (python/huleedu-notify, its example script run
// with python3) reaches this client through the real service and a real Redis, and passes the
// client's validation; a client that was away gets the Python-published message replayed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { signToken } from '@huleedu/auth';
import {
  type RedisHandle,
  type ServiceProcess,
  startRedis,
  startService,
  TEST_SECRET,
  waitFor,
} from '@huleedu/test-support';
import type { NotificationData } from '@huleedu/ws-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '../src/index.js';
import { closeTestClients, testClient } from './support/clients.js';

const pythonPackage = dirname(
  createRequire(import.meta.url).resolve('@huleedu/notify-python/package.json'),
);
// Debian's python3 has redis-py and jsonschema (scripts/test.sh installs them); PYTHON overrides.
const python = process.env['PYTHON'] || '/usr/bin/python3';

interface PythonResult {
  id: string;
  position: number;
  epoch: string;
  receivers: number;
  duplicate: boolean;
}

let redis: RedisHandle;
let service: ServiceProcess;
beforeAll(async () => {
  redis = await startRedis();
  service = await startService({ redisUrl: redis.url, env: { WEBSOCKET_PING_INTERVAL: '5' } });
});
afterAll(async () => {
  closeTestClients();
  await service?.stop();
  await redis?.stop();
});

/** Runs the package's example publisher: batch_results_ready for `user`. */
function publishFromPython(user: string, batchId: string, ...extra: string[]): PythonResult {
  const run = spawnSync(
    python,
    [
      join(pythonPackage, 'examples', 'sync_publish.py'),
      '--redis',
      redis.url,
      '--user',
      user,
      '--batch-id',
      batchId,
      ...extra,
    ],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PYTHONPATH: join(pythonPackage, 'src'), PYTHONDONTWRITEBYTECODE: '1' },
    },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as PythonResult;
}

function pythonClient(user: string) {
  const test = testClient(service.url, {
    getToken: () => signToken(user, { secret: TEST_SECRET }),
  });
  const received: [NotificationData<'batch_results_ready'>, Delivery][] = [];
  test.client.on('batch_results_ready', (data, _message, delivery) =>
    received.push([data, delivery]),
  );
  return { ...test, received };
}

describe('a Python backend publishing with huleedu-notify', () => {
  it('reaches the client through the real service, valid and typed', async () => {
    const { client, recording, received } = pythonClient('py-live');
    client.connect();
    // ws.synced: the service subscribed and told the client where the history stands.
    await waitFor(() => client.position !== undefined);

    const result = publishFromPython('py-live', 'py-batch-1');
    expect(result).toMatchObject({ position: 1, receivers: 1, duplicate: false });
    await waitFor(() => received.length === 1);
    const [data, delivery] = received[0]!;
    expect(data).toMatchObject({
      batch_id: 'py-batch-1',
      results_count: 3,
      category: 'processing_results',
      priority: 'high',
    });
    expect(delivery).toEqual({ replayed: false, position: 1, epoch: result.epoch });
    expect(recording.messages[0]).toMatchObject({ id: result.id });
    // The client's validation took it: no invalid_message (nor any other error).
    expect(recording.errors).toEqual([]);
  });

  it('is replayed to a client that was away when it was published, once', async () => {
    const { client, recording, received } = pythonClient('py-away');
    client.connect();
    await waitFor(() => client.position !== undefined);
    expect(publishFromPython('py-away', 'before').position).toBe(1);
    await waitFor(() => received.length === 1);

    client.close();
    const missed = publishFromPython('py-away', 'while-away', '--idempotency-key', 'away-1');
    // A retry of the same publish (the backend did not hear the answer) adds nothing.
    const retry = publishFromPython('py-away', 'while-away', '--idempotency-key', 'away-1');
    expect(missed).toMatchObject({ position: 2, duplicate: false });
    expect(retry).toEqual({ ...missed, receivers: 0, duplicate: true });

    client.connect();
    await waitFor(() => received.length === 2);
    expect(received[1]![0].batch_id).toBe('while-away');
    expect(received[1]![1]).toEqual({ replayed: true, position: 2, epoch: missed.epoch });
    expect(recording.messages[1]).toMatchObject({ id: missed.id });
    expect(recording.errors).toEqual([]);
    expect(client.position).toEqual({ position: 2, epoch: missed.epoch });
  });
});

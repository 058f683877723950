import { DEFAULT_MAX_LIFETIME_SECONDS } from '@huleedu/auth';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '@huleedu/notify';
import { type RedisHandle, startRedis, waitFor } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevocationStore } from '../src/revocation/store.js';
import { captureLogger } from './helpers.js';

let redis: RedisHandle;
let writer: Redis;
let store: RevocationStore;

beforeAll(async () => {
  redis = await startRedis();
  writer = new Redis(redis.url);
  store = new RevocationStore({
    redis: { mode: 'standalone', url: redis.url },
    channelPrefix: 'ws',
    timeoutMs: 300,
    logger: captureLogger().logger,
  });
  store.start();
  await waitFor(
    async () =>
      await store.revokedBefore('nobody').then(
        () => true,
        () => false,
      ),
    {
      message: 'the revocation reader connected',
    },
  );
});

afterAll(async () => {
  await store?.close();
  writer?.disconnect();
  await redis?.stop();
});

describe('RevocationStore', () => {
  it("reads the user's revocation key, undefined when there is none", async () => {
    await writer.set('{ws:teacher-1}:revoked_before', '1800000000');
    expect(await store.revokedBefore('teacher-1')).toBe(1_800_000_000);
    expect(await store.revokedBefore('teacher-2')).toBeUndefined();
  });

  it('answers the reads of one turn of the event loop with one MGET, each with its own value', async () => {
    await writer.set('{ws:storm-7}:revoked_before', '1700000000');
    await writer.set('{ws:storm-8}:revoked_before', 'later');
    await writer.call('CONFIG', 'RESETSTAT');
    const reads = Array.from({ length: 50 }, (_, i) =>
      store.revokedBefore(`storm-${i}`).then(
        (seconds) => seconds,
        (error: Error) => error.message,
      ),
    );
    const answers = await Promise.all(reads);
    expect(answers[7]).toBe(1_700_000_000);
    expect(answers[8]).toMatch(/revocation key of storm-8 holds "later"/);
    expect(answers.filter((answer) => answer === undefined)).toHaveLength(48);
    const stats = String(await writer.call('INFO', 'commandstats'));
    expect(stats).toMatch(/cmdstat_mget:calls=1,/);
    expect(stats).not.toMatch(/cmdstat_get:/);
  });

  it('sends the reads asked for while an MGET waits for Redis together, once it answered', async () => {
    await writer.set('{ws:queued-3}:revoked_before', '1700000000');
    await writer.call('CONFIG', 'RESETSTAT');
    // Redis holds the first read's MGET for a moment; three more handshakes arrive meanwhile,
    // each in its own turn of the event loop.
    await writer.call('CLIENT', 'PAUSE', '150', 'ALL');
    const first = store.revokedBefore('queued-0');
    const later: Promise<number | undefined>[] = [];
    for (let i = 1; i <= 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      later.push(store.revokedBefore(`queued-${i}`));
    }
    expect(await first).toBeUndefined();
    expect(await Promise.all(later)).toEqual([undefined, undefined, 1_700_000_000]);
    const stats = String(await writer.call('INFO', 'commandstats'));
    expect(stats).toMatch(/cmdstat_mget:calls=2,/);
  });

  it('fails the reads waiting for an MGET in flight when that MGET times out', async () => {
    await writer.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const first = store.revokedBefore('teacher-1').catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 200));
    let waitingSettled = false;
    const waiting = store.revokedBefore('teacher-2').catch((error: Error) => error.message);
    void waiting.finally(() => {
      waitingSettled = true;
    });
    expect(await first).toMatch(/timed out/i);
    // Failed with the first read's MGET (300 ms after it), not by a timer of its own (which
    // started 200 ms later): settled by the time the first read's failure is seen.
    await new Promise((resolve) => setImmediate(resolve));
    expect(waitingSettled).toBe(true);
    expect(await waiting).toMatch(/timed out/i);
    await writer.call('CLIENT', 'UNPAUSE');
  });

  it('refuses to guess when the key holds something else', async () => {
    await writer.set('{ws:teacher-3}:revoked_before', 'soon');
    await expect(store.revokedBefore('teacher-3')).rejects.toThrow('holds "soon"');
  });

  it('gives up within the timeout when Redis does not answer', async () => {
    // CLIENT PAUSE holds every client's commands: the read waits, then fails after timeoutMs.
    await writer.call('CLIENT', 'PAUSE', '3000', 'ALL');
    // Redis answers nothing (this PING included) until the pause ends.
    let paused = true;
    const pauseOver = writer.ping().then(() => {
      paused = false;
    });
    await expect(store.revokedBefore('teacher-1')).rejects.toThrow(/timed out/i);
    // Failed by its own timeout while Redis was still holding every command.
    expect(paused).toBe(true);
    await pauseOver;
  });

  it('keeps the service default and notify default of the token lifetime equal', () => {
    // notify keeps revocations this long; the service accepts tokens this long. See the READMEs.
    expect(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS).toBe(DEFAULT_MAX_LIFETIME_SECONDS);
  });
});

describe('RevocationStore without Redis', () => {
  it('fails a read at once instead of queueing it', async () => {
    const offline = new RevocationStore({
      redis: { mode: 'standalone', url: 'redis://127.0.0.1:1' },
      channelPrefix: 'ws',
      timeoutMs: 5_000,
      logger: captureLogger().logger,
    });
    offline.start();
    try {
      // Refused by ioredis' offline check, not failed by the 5 s timeout after waiting in a queue.
      const error = await offline.revokedBefore('teacher-1').then(
        () => undefined,
        (reason: Error) => reason,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).not.toMatch(/timed out/i);
      expect(error?.message).toMatch(/enableOfflineQueue|writeable|connect/i);
    } finally {
      await offline.close();
    }
  });
});

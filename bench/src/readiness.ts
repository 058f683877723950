import { DEFAULT_CHANNEL_PREFIX, userChannel } from '@huleedu/ws-protocol';
import type { Redis } from 'ioredis';
import { nowMs, sleep } from './clock.js';
import { benchUserId } from './message.js';

/** Whether a server is subscribed for every user the bench will publish to. */
export interface Readiness {
  ready: boolean;
  /** Users whose channel had no subscriber at the last check (0 when ready). */
  missing: number;
  waitedMs: number;
}

/**
 * Waits until every user's channel has a subscriber. A socket is open before its server has
 * subscribed the user's channel; publishing earlier would count as loss that no real user sees.
 */
export async function waitForChannelSubscribers(
  redis: Redis,
  users: readonly number[],
  timeoutMs: number,
  channelPrefix: string = DEFAULT_CHANNEL_PREFIX,
): Promise<Readiness> {
  const started = nowMs();
  let pending = users.map((user) => userChannel(benchUserId(user), channelPrefix));
  for (;;) {
    const still: string[] = [];
    for (let i = 0; i < pending.length; i += 1000) {
      const chunk = pending.slice(i, i + 1000);
      const reply = (await redis.call('PUBSUB', 'NUMSUB', ...chunk)) as Array<string | number>;
      for (let j = 0; j < reply.length; j += 2) {
        if (Number(reply[j + 1]) < 1) still.push(String(reply[j]));
      }
    }
    pending = still;
    const waitedMs = nowMs() - started;
    if (pending.length === 0) return { ready: true, missing: 0, waitedMs };
    if (waitedMs > timeoutMs) return { ready: false, missing: pending.length, waitedMs };
    await sleep(100);
  }
}

/** Waits until some client holds a pattern subscription (Socket.IO's adapter subscribes `socket.io#*`). */
export async function waitForPatternSubscriber(
  redis: Redis,
  timeoutMs: number,
): Promise<Readiness> {
  const started = nowMs();
  for (;;) {
    const patterns = Number(await redis.call('PUBSUB', 'NUMPAT'));
    const waitedMs = nowMs() - started;
    if (patterns > 0) return { ready: true, missing: 0, waitedMs };
    if (waitedMs > timeoutMs) return { ready: false, missing: 1, waitedMs };
    await sleep(100);
  }
}

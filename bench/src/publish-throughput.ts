import { Redis } from 'ioredis';
import type { HistoryRetention } from './publish-script.js';
import { createPublisher, type PublishMode } from './publisher.js';
import { medianRound } from './rounds.js';

/** Publish throughput with history (the durable publish script) against plain PUBLISH. */
export interface PublishThroughput {
  /** Messages per round, round-robin over `users` users. */
  messages: number;
  users: number;
  /** Messages/s of every round, in the order they ran. */
  plainRounds: number[];
  durableRounds: number[];
  /** Median rounds, messages/s. */
  plainPerSecond: number;
  durablePerSecond: number;
  /** durable / plain. */
  ratio: number;
  /** Redis CPU per message (INFO cpu, user + sys, over every round of the kind), µs. */
  plainRedisCpuUs: number;
  durableRedisCpuUs: number;
}

/** CPU seconds the Redis server has used so far (user + sys, from INFO cpu). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = String(await redis.info('cpu'));
  const field = (name: string): number =>
    Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/**
 * Publishes `messages` bench notifications per round, pipelined exactly like the burst (1,000
 * per pipeline), once as plain PUBLISH and once through the durable publish script (EVALSHA),
 * `rounds` times, alternating which goes first so drift on a shared machine hits both alike.
 * No server is subscribed: this is the cost on the publishing side and in Redis.
 */
export async function measurePublishThroughput(
  redisUrl: string,
  users: readonly number[],
  messages: number,
  rounds: number,
  retention: HistoryRetention,
): Promise<PublishThroughput> {
  const plain = createPublisher('plain', redisUrl);
  const durable = createPublisher('durable', redisUrl, { retention });
  const rates: Record<'plain' | 'durable', number[]> = { plain: [], durable: [] };
  const redisCpu: Record<'plain' | 'durable', number> = { plain: 0, durable: 0 };
  const probe = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    // One unmeasured durable message: the script load and connection set-up are not throughput.
    await plain.burst(1, users);
    await durable.burst(1, users);
    for (let round = 0; round < rounds; round++) {
      const order: Array<Extract<PublishMode, 'plain' | 'durable'>> =
        round % 2 === 0 ? ['plain', 'durable'] : ['durable', 'plain'];
      for (const mode of order) {
        const cpuBefore = await redisCpuSeconds(probe);
        const sent = await (mode === 'plain' ? plain : durable).burst(messages, users);
        redisCpu[mode] += (await redisCpuSeconds(probe)) - cpuBefore;
        rates[mode].push(
          sent.published / (Math.max(sent.finishedAt - sent.startedAt, 0.001) / 1000),
        );
      }
    }
  } finally {
    await plain.close();
    await durable.close();
    probe.disconnect();
  }
  const plainPerSecond = medianRound(rates.plain, (r) => r);
  const durablePerSecond = medianRound(rates.durable, (r) => r);
  return {
    messages,
    users: users.length,
    plainRounds: rates.plain.map(Math.round),
    durableRounds: rates.durable.map(Math.round),
    plainPerSecond,
    durablePerSecond,
    ratio: durablePerSecond / plainPerSecond,
    plainRedisCpuUs: (redisCpu.plain * 1e6) / (messages * rounds),
    durableRedisCpuUs: (redisCpu.durable * 1e6) / (messages * rounds),
  };
}

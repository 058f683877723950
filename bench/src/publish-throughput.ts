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
  try {
    // One unmeasured durable message: the script load and connection set-up are not throughput.
    await plain.burst(1, users);
    await durable.burst(1, users);
    for (let round = 0; round < rounds; round++) {
      const order: Array<Extract<PublishMode, 'plain' | 'durable'>> =
        round % 2 === 0 ? ['plain', 'durable'] : ['durable', 'plain'];
      for (const mode of order) {
        const sent = await (mode === 'plain' ? plain : durable).burst(messages, users);
        rates[mode].push(
          sent.published / (Math.max(sent.finishedAt - sent.startedAt, 0.001) / 1000),
        );
      }
    }
  } finally {
    await plain.close();
    await durable.close();
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
  };
}

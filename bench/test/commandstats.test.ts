import { startRedis } from '@huleedu/test-support';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  callsBetween,
  parseCommandStats,
  readCommandCalls,
  subtractCalls,
  topCalls,
  totalCalls,
} from '../src/commandstats.js';
import { stormCommands, stormCommandsText } from '../src/storm-commands.js';

// What Redis 7.0 answers to INFO commandstats (CRLF line ends, subcommands named `a|b`).
const INFO = [
  '# Commandstats',
  'cmdstat_evalsha:calls=4000,usec=91000,usec_per_call=22.75,rejected_calls=0,failed_calls=0',
  'cmdstat_subscribe:calls=1321,usec=5000,usec_per_call=3.78,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setname:calls=18,usec=20,usec_per_call=1.11,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=7,usec=700,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

describe('INFO commandstats', () => {
  it('reads the calls of every command, subcommands included, and their sum', () => {
    const calls = parseCommandStats(INFO);
    expect(calls).toEqual({ evalsha: 4000, subscribe: 1321, 'client|setname': 18, info: 7 });
    expect(totalCalls(calls)).toBe(5346);
    expect(topCalls(calls, 2)).toEqual([
      ['evalsha', 4000],
      ['subscribe', 1321],
    ]);
  });

  it('skips lines that are not a command count, rather than counting garbage', () => {
    expect(parseCommandStats('')).toEqual({});
    expect(
      parseCommandStats(
        'cmdstat_get:usec=5\ncmdstat_set:calls=-1\ncmdstat_mget:calls=x\nerrorstat_ERR:count=3\ncmdstat_del:calls=2',
      ),
    ).toEqual({ del: 2 });
  });

  it('takes the difference of two readings, by command', () => {
    const before = { evalsha: 100, subscribe: 10, info: 3 };
    const after = { evalsha: 150, subscribe: 10, info: 4, hmget: 7 };
    expect(callsBetween(before, after)).toEqual({ evalsha: 50, info: 1, hmget: 7 });
    // After CONFIG RESETSTAT a count starts again from zero.
    expect(callsBetween({ get: 500 }, { get: 20 })).toEqual({ get: 20 });
    expect(subtractCalls({ evalsha: 50, info: 1 }, { info: 2, evalsha: 20 })).toEqual({
      evalsha: 30,
    });
  });

  it('reads a real Redis', async () => {
    const server = await startRedis();
    const redis = new Redis(server.url);
    try {
      const before = await readCommandCalls(redis);
      await redis.set('k', '1');
      await redis.set('k', '2');
      await redis.mget('k', 'j');
      const between = callsBetween(before, await readCommandCalls(redis));
      // The first reading's own INFO counts in the second one.
      expect(between).toEqual({ set: 2, mget: 1, info: 1 });
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});

describe("a reconnect storm's Redis commands", () => {
  it("leaves out the publisher's share, measured per message while it sent alone, and the bench's own", () => {
    const commands = stormCommands({
      atSignal: { evalsha: 1000, xadd: 1000, publish: 1000, info: 5, subscribe: 2000 },
      atEnd: {
        evalsha: 1000 + 400 + 2000, // 400 publishes, 2,000 resume reads
        xadd: 1400,
        publish: 1400,
        info: 6 + 18, // the reading at the signal, and the server's connections' ready checks
        subscribe: 4000,
        'pubsub|numsub': 3,
      },
      readingsInWindow: 1,
      publisherMessages: 400,
      publisherAlone: { calls: { evalsha: 200, xadd: 200, publish: 200 }, messages: 200 },
      sockets: 2000,
    });
    expect(commands.byCommand).toEqual({ evalsha: 2000, subscribe: 2000, info: 18 });
    expect(Object.keys(commands.byCommand)).toEqual(['evalsha', 'subscribe', 'info']);
    expect(commands).toMatchObject({
      total: 4018,
      sockets: 2000,
      perSocket: 2.009,
      counted: 4018 + 1200 + 4,
      publisher: 1200,
      bench: 4,
    });
    expect(stormCommandsText(commands)).toBe(
      "4,018 (2.01 per reconnected socket; evalsha 2,000, subscribe 2,000, info 18; left out: the publisher's 1,200, the bench's 4)",
    );
  });

  it('counts everything as the server’s without a publisher, and has no per-socket figure without sockets', () => {
    const commands = stormCommands({
      atSignal: { info: 2 },
      atEnd: { info: 3, subscribe: 5, a: 1, b: 1, c: 1, d: 1, e: 1 },
      readingsInWindow: 1,
      publisherMessages: 0,
      sockets: 0,
    });
    expect(commands).toMatchObject({ total: 10, perSocket: null, publisher: 0, bench: 1 });
    expect(stormCommandsText(commands)).toBe(
      "10 (- per reconnected socket; subscribe 5, a 1, b 1, c 1, d 1, 1 other commands 1; left out: the publisher's 0, the bench's 1)",
    );
  });
});

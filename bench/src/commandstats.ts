import type { Redis } from 'ioredis';

/**
 * Redis's own count of the commands it ran, by command: `INFO commandstats` read at two moments,
 * the difference is what happened in between (commands a Lua script runs count too, under their
 * own names, next to the `evalsha` that ran it).
 */

/** Calls per command name (`evalsha`, `client|setname`, ...), as `INFO commandstats` names them. */
export type CommandCalls = Record<string, number>;

const CMDSTAT_LINE = /^cmdstat_([^:]+):(.*)$/;

/**
 * Reads the `calls=` of every `cmdstat_<name>:calls=N,usec=...` line of an `INFO commandstats`
 * reply; other lines (the `# Commandstats` header, blank lines) are skipped.
 */
export function parseCommandStats(info: string): CommandCalls {
  const calls: CommandCalls = {};
  for (const raw of info.split('\n')) {
    const match = CMDSTAT_LINE.exec(raw.trim());
    if (!match) continue;
    const field = match[2]!.split(',').find((part) => part.startsWith('calls='));
    const count = Number(field?.slice('calls='.length));
    if (field === undefined || !Number.isSafeInteger(count) || count < 0) continue;
    calls[match[1]!] = (calls[match[1]!] ?? 0) + count;
  }
  return calls;
}

/** Every call counted, whatever the command. */
export function totalCalls(calls: CommandCalls): number {
  return Object.values(calls).reduce((sum, count) => sum + count, 0);
}

/**
 * The calls between two readings (`after - before`, by command); commands that did not run in
 * between are left out. A count that went down (`CONFIG RESETSTAT`) counts from zero.
 */
export function callsBetween(before: CommandCalls, after: CommandCalls): CommandCalls {
  const between: CommandCalls = {};
  for (const [name, count] of Object.entries(after)) {
    const previous = before[name] ?? 0;
    const ran = count >= previous ? count - previous : count;
    if (ran > 0) between[name] = ran;
  }
  return between;
}

/** `calls` less `minus`, by command, never below zero; commands left at zero are dropped. */
export function subtractCalls(calls: CommandCalls, minus: CommandCalls): CommandCalls {
  const left: CommandCalls = {};
  for (const [name, count] of Object.entries(calls)) {
    const rest = count - (minus[name] ?? 0);
    if (rest > 0) left[name] = rest;
  }
  return left;
}

/** Each count times `factor`, rounded to whole calls (zero counts are dropped). */
export function scaleCalls(calls: CommandCalls, factor: number): CommandCalls {
  const scaled: CommandCalls = {};
  for (const [name, count] of Object.entries(calls)) {
    const value = Math.round(count * factor);
    if (value > 0) scaled[name] = value;
  }
  return scaled;
}

/** The `count` most called commands, most first (ties by name), as `[name, calls]`. */
export function topCalls(calls: CommandCalls, count: number): Array<[string, number]> {
  return Object.entries(calls)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count);
}

/** `calls` as an object ordered most called first (how the report keeps the breakdown). */
export function sortedCalls(calls: CommandCalls): CommandCalls {
  return Object.fromEntries(topCalls(calls, Number.POSITIVE_INFINITY));
}

/** Reads `INFO commandstats` (one `info` call itself, counted in the next reading). */
export async function readCommandCalls(redis: Redis): Promise<CommandCalls> {
  return parseCommandStats(await redis.info('commandstats'));
}

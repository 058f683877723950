import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Redis } from 'ioredis';

/** The machine a result was measured on: numbers mean little without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  redis: string;
}

/** Describes this machine and the Redis server in use. */
export async function describeMachine(redis: Redis): Promise<MachineInfo> {
  const info = String(await redis.info('server'));
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `Linux ${release()}`,
    redis: info.match(/redis_version:(\S+)/)?.[1] ?? 'unknown',
  };
}

/** The machine's 1-minute load average now: above the core count, other work competes. */
export function oneMinuteLoad(): number {
  return loadavg()[0] ?? 0;
}

import { describe, expect, it } from 'vitest';
import {
  addressesFor,
  addressesForPairedSide,
  addressesForTarget,
  benchModeOf,
  isService,
  parseBench100kConfig,
  parseBenchConfig,
  settingBaselines,
} from '../src/config.js';
import { BenchError } from '../src/errors.js';

function errorOf(run: () => unknown): BenchError {
  try {
    run();
  } catch (error) {
    if (error instanceof BenchError) return error;
    throw error;
  }
  throw new Error('expected a BenchError');
}

describe('pnpm bench options', () => {
  it('defaults to 10,000 sockets against the three servers, and the service with history on against the relay fed the same durable publishes', () => {
    const config = parseBenchConfig([], {});
    expect(config.targets).toEqual([
      'service',
      'relay',
      'socketio',
      'service-history',
      'relay-durable',
    ]);
    expect(config.targets).not.toContain('service-default');
    expect(config.retention).toEqual({ length: 100, ttlSeconds: 86_400 });
    expect(config.memoryEntries).toEqual([10, 100, 1000]);
    expect(config.users * config.tabs).toBe(10_000);
    expect(config.processes).toBeGreaterThanOrEqual(2);
    expect(config.sourceAddresses).toEqual(['127.0.0.2']);
    expect(config.rate).toBe(5000);
    // Five measured bursts after the warm-up, three fixed-rate rounds of 10 s.
    expect(config.burstRounds).toBe(5);
    expect([config.rateRounds, config.durationMs]).toEqual([3, 10_000]);
    expect(config.connectRounds).toBe(3);
    expect(parseBenchConfig([], { BENCH_CONNECT_ROUNDS: '5' }).connectRounds).toBe(5);
  });

  it('measures the service with its shipped defaults on request, next to the relay', () => {
    expect(parseBenchConfig(['--targets', 'service-default,relay'], {}).targets).toEqual([
      'service-default',
      'relay',
    ]);
    expect(parseBenchConfig([], { BENCH_TARGETS: 'service-default' }).targets).toEqual([
      'service-default',
    ]);
    expect(isService('service-default')).toBe(true);
    expect(settingBaselines['service-default']).toBe('relay');
  });

  it('takes flags over BENCH_* variables over defaults', () => {
    const config = parseBenchConfig(['--users=10', '--burst', '99'], {
      BENCH_USERS: '20',
      BENCH_TABS: '3',
    });
    expect(config.users).toBe(10);
    expect(config.tabs).toBe(3);
    expect(config.burst).toBe(99);
  });

  it('names the bad option in its error', () => {
    expect(errorOf(() => parseBenchConfig(['--users', 'many'], {})).message).toMatch(
      /--users.*expected an integer/,
    );
    expect(errorOf(() => parseBenchConfig(['--targets', 'nginx'], {})).message).toMatch(
      /unknown value "nginx"/,
    );
    expect(errorOf(() => parseBenchConfig(['--nope'], {})).code).toBe('bad_option');
    expect(errorOf(() => parseBenchConfig([], { BENCH_RATE: '-1' })).message).toMatch(
      /BENCH_RATE.*>= 0/,
    );
    expect(errorOf(() => parseBenchConfig(['--memory-entries', '10,ten'], {})).message).toMatch(
      /--memory-entries.*"ten"/,
    );
    expect(errorOf(() => parseBenchConfig(['--rate-rounds', '0'], {})).message).toMatch(
      /--rate-rounds.*>= 1/,
    );
    expect(errorOf(() => parseBenchConfig(['--connect-rounds', '0'], {})).message).toMatch(
      /--connect-rounds.*>= 1/,
    );
    expect(errorOf(() => parseBenchConfig(['--history-length', '0'], {})).message).toMatch(
      /--history-length.*>= 1/,
    );
  });

  it('refuses a spread that breaks the per-process file limit', () => {
    expect(
      errorOf(() => parseBenchConfig(['--users', '40000', '--tabs', '1', '--processes', '2'], {}))
        .message,
    ).toMatch(/raise --processes/);
  });

  it('gives each connect round of each target fresh source addresses unless they were listed', () => {
    const auto = parseBenchConfig(['--users', '20000', '--tabs', '1', '--connect-rounds', '2'], {});
    expect(addressesForTarget(auto, 0)).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(addressesForTarget(auto, 0, 2)).toEqual(['127.0.0.4', '127.0.0.5']);
    expect(addressesForTarget(auto, 1)).toEqual(['127.0.0.6', '127.0.0.7']);
    expect(addressesForTarget(auto, 1, 2)).toEqual(['127.0.0.8', '127.0.0.9']);
    const listed = parseBenchConfig(['--source-addresses', '127.0.0.9'], {});
    expect(addressesForTarget(listed, 2, 3)).toEqual(['127.0.0.9']);
    expect(addressesForPairedSide(listed, 0, 1, 4)).toEqual(['127.0.0.9']);
  });

  it('gives the alternating rounds address blocks after every target round', () => {
    const config = parseBenchConfig(
      [
        '--targets',
        'service-history,relay-durable',
        '--connect-rounds',
        '2',
        '--paired-rounds',
        '3',
      ],
      {},
    );
    // The two targets' four rounds use 127.0.0.2-5; each side then gets 1 + 3 blocks.
    expect(addressesForTarget(config, 1, 2)).toEqual(['127.0.0.5']);
    expect(addressesForPairedSide(config, 0, 0, 0)).toEqual(['127.0.0.6']);
    expect(addressesForPairedSide(config, 0, 0, 3)).toEqual(['127.0.0.9']);
    expect(addressesForPairedSide(config, 0, 1, 0)).toEqual(['127.0.0.10']);
    expect(addressesForPairedSide(config, 0, 1, 3)).toEqual(['127.0.0.13']);
  });

  it('refuses more connect rounds than there are loopback addresses to give them', () => {
    // 100,000 sockets: 10 addresses a round, x (5 targets x 7 rounds + the alternating pair's 2
    // sides x (1 + 6 connects)) = 490 of 250.
    const many = ['--users', '50000', '--processes', '8', '--connect-rounds', '7'];
    expect(errorOf(() => parseBenchConfig(many, {})).message).toMatch(
      /\(5 targets x 7 connect rounds \+ 14 alternating connects\) x 10 source address\(es\) need 490 loopback addresses.*lower --connect-rounds or --paired-rounds/,
    );
    const listed = [...many, '--source-addresses', addressesFor(100_000).join(',')];
    expect(parseBenchConfig(listed, {}).connectRounds).toBe(7);
  });
});

describe('pnpm bench:100k options', () => {
  it('spreads 100,000 sockets over at least 6 processes, workers and 10 addresses', () => {
    const config = parseBench100kConfig([], {});
    expect(config.users * config.tabs).toBe(100_000);
    expect(config.processes).toBeGreaterThanOrEqual(6);
    expect(Number(config.serviceWorkers)).toBeGreaterThanOrEqual(6);
    expect(config.sourceAddresses).toHaveLength(10);
    expect(config.history).toBe('on');
    expect(config.stormRate).toBe(200);
  });

  it('keeps the one-process relay under the file limit', () => {
    expect(errorOf(() => parseBench100kConfig(['--target', 'relay'], {})).message).toMatch(
      /one process/,
    );
  });
});

describe('the bench command line (node:util parseArgs)', () => {
  it('picks the mode from --mode, then BENCH_MODE, else compare', () => {
    expect(benchModeOf([], {})).toBe('compare');
    expect(benchModeOf(['--users', '5', '--mode', '100k'], {})).toBe('100k');
    expect(benchModeOf(['--mode=compare'], { BENCH_MODE: '100k' })).toBe('compare');
    expect(benchModeOf([], { BENCH_MODE: '100k' })).toBe('100k');
    expect(errorOf(() => benchModeOf(['--mode', '10k'], {})).message).toBe(
      '--mode: expected one of compare, 100k, got "10k"',
    );
  });

  it('sends a mode to its own parser only', () => {
    expect(errorOf(() => parseBenchConfig(['--mode', '100k'], {})).message).toBe(
      '--mode 100k: run pnpm bench:100k for that mode',
    );
    expect(parseBench100kConfig(['--mode', '100k', '--users', '10'], {}).users).toBe(10);
  });

  it('takes --flag and --no-flag, and refuses stray arguments, a flag with a value and options of the other mode', () => {
    expect(parseBench100kConfig(['--no-storm'], {}).storm).toBe(false);
    expect(parseBench100kConfig(['--no-storm'], { BENCH_STORM: 'true' }).storm).toBe(false);
    expect(parseBench100kConfig([], { BENCH_STORM: 'no' }).storm).toBe(false);
    expect(parseBench100kConfig(['--storm'], { BENCH_STORM: 'no' }).storm).toBe(true);
    expect(errorOf(() => parseBenchConfig(['5000'], {})).message).toMatch(
      /^Unexpected argument '5000' \(see --help\)$/,
    );
    expect(errorOf(() => parseBenchConfig(['--help=yes'], {})).message).toMatch(
      /^Option '--help' does not take an argument \(see --help\)$/,
    );
    expect(errorOf(() => parseBenchConfig(['--storm-rate', '5'], {})).message).toMatch(
      /^Unknown option '--storm-rate' \(see --help\)$/,
    );
    expect(errorOf(() => parseBench100kConfig(['--burst', '5'], {})).code).toBe('bad_option');
    expect(errorOf(() => parseBenchConfig(['--users'], {})).message).toMatch(
      /^Option '--users <value>' argument missing \(see --help\)$/,
    );
  });
});

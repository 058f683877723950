import { describe, expect, it } from 'vitest';
import { runBench100k } from '../src/bench.js';
import { liveChildren } from '../src/children.js';
import { parseBench100kConfig } from '../src/config.js';
import { render100kSection } from '../src/docs.js';

// The 100k pipeline at tiny scale: hold, deliver, drop everyone while a publisher keeps sending
// durably, wait for everyone to come back, count every position per socket, deliver again.
// Proves `pnpm bench:100k` still works, and that its loss count sees a real loss.
const tiny = (target: string, extra: string[] = []) =>
  parseBench100kConfig(
    [
      ...['--target', target, '--users', '40', '--processes', '2', '--settle', '0.1'],
      ...['--storm-jitter', '0.3', '--storm-timeout', '40', '--drain-timeout', '10'],
      ...['--storm-rate', '100', '--docs', ''],
      ...extra,
    ],
    {},
  );

describe('pnpm bench:100k at tiny scale', () => {
  it('counts what a server without history loses in the storm, position by position', {
    timeout: 60_000,
  }, async () => {
    // Positions that never come are waited for until nothing arrives for --drain-timeout.
    const report = await runBench100k(tiny('relay', ['--drain-timeout', '3']));

    expect(report.connect).toMatchObject({ opened: 40, failed: 0 });
    expect(report.delivery).toMatchObject({ expected: 40, delivered: 40, lost: 0 });
    expect(report.memory.idleRssBytes).toBeGreaterThan(0);
    const storm = report.storm!;
    expect(storm.open).toBe(40);
    expect(storm.back).toBe(40);
    expect(storm.closes['1001']).toBe(40); // the relay's SIGTERM drain
    expect(storm.allBackMs).toBeGreaterThan(0);
    // The relay forwards live only: what was published while it restarted is gone, and the
    // per-socket count finds every missing position.
    const publishing = storm.publishing!;
    expect(publishing.byPosition).toBe(true);
    expect(publishing.published).toBeGreaterThan(50);
    expect(publishing.expected).toBe(publishing.published);
    expect(publishing.lost).toBeGreaterThan(0);
    expect(publishing.delivered + publishing.lost).toBe(publishing.expected);
    expect(publishing.duplicates).toBe(0);
    expect(publishing.synced).toBe(0); // the relay knows nothing of positions
    expect(storm.afterStorm).toMatchObject({ expected: 40, delivered: 40, lost: 0 });
    // The relay's whole reconnect in Redis: one SUBSCRIBE per returning user; the publisher's
    // durable publishes in the same window are left out. No ws.synced to wait for.
    expect(storm.redisCommands).toMatchObject({ sockets: 40 });
    expect(storm.redisCommands!.byCommand.subscribe).toBe(40);
    expect(storm.redisCommands!.publisher).toBeGreaterThan(0);
    expect(storm.synced).toBeUndefined();
    expect(render100kSection(report)).toContain('| Redis commands during the storm |');
    expect(render100kSection(report)).not.toContain('synced (ws.synced');
    expect(render100kSection(report)).toContain('| time until all sockets are back |');
    expect(render100kSection(report)).toContain(
      '| storm: delivered, each position once per socket |',
    );
    expect(liveChildren()).toBe(0);
  });

  it('resumes every socket of the service with nothing lost and nothing twice', {
    timeout: 150_000,
  }, async () => {
    // A slower publisher and a longer wait: on a busy machine the two workers can take many
    // seconds to restart, and a gap past WEBSOCKET_REPLAY_MAX_MESSAGES would be a resync.
    const report = await runBench100k(
      tiny('service', [
        ...['--tabs', '2', '--service-workers', '2'],
        ...['--storm-rate', '50', '--storm-timeout', '80'],
      ]),
    );

    expect(report.connect).toMatchObject({ opened: 80, failed: 0 });
    expect(report.delivery).toMatchObject({ expected: 80, delivered: 80, lost: 0 });
    const storm = report.storm!;
    expect(storm.open).toBe(80);
    expect(storm.back).toBe(80);
    const publishing = storm.publishing!;
    expect(publishing.published).toBeGreaterThan(50);
    expect(publishing).toMatchObject({
      byPosition: true,
      expected: publishing.published * 2,
      delivered: publishing.published * 2,
      lost: 0,
      duplicates: 0,
      socketsBehind: 0,
      resyncs: {},
    });
    // Every reconnect was admitted with ws.synced, and some of them replayed what they missed.
    expect(publishing.synced).toBeGreaterThanOrEqual(80);
    expect(publishing.replayed).toBeGreaterThan(0);
    // Back at open, synced at its ws.synced: every socket got one after it reopened.
    expect(storm.synced).toBe(80);
    expect(storm.allSyncedMs).toBeGreaterThanOrEqual(storm.allBackMs);
    expect(render100kSection(report)).toContain('| time until all sockets are synced');
    // Each resume costs the service Redis work: more than the relay's one SUBSCRIBE per socket.
    expect(storm.redisCommands!.sockets).toBe(80);
    expect(storm.redisCommands!.perSocket).toBeGreaterThan(1);
    expect(storm.afterStorm).toMatchObject({ expected: 80, delivered: 80, lost: 0 });
    expect(liveChildren()).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { liveChildren } from '../src/children.js';
import { parseBench100kConfig } from '../src/config-100k.js';
import { render100kSection } from '../src/docs.js';
import { runBench100k } from '../src/scenario-100k.js';

// The 100k pipeline at tiny scale against the one-process relay: hold, deliver, drop everyone,
// wait for everyone to come back, deliver again. Proves `pnpm bench:100k` still works.
describe('pnpm bench:100k at tiny scale', () => {
  it('gets every socket back after the storm and delivers to all of them', {
    timeout: 60_000,
  }, async () => {
    const config = parseBench100kConfig(
      [
        ...['--target', 'relay', '--users', '40', '--processes', '2', '--settle', '0.1'],
        ...[
          '--storm-jitter',
          '0.3',
          '--storm-timeout',
          '40',
          '--drain-timeout',
          '30',
          '--docs',
          '',
        ],
      ],
      {},
    );
    const report = await runBench100k(config);

    expect(report.connect).toMatchObject({ opened: 40, failed: 0 });
    expect(report.delivery).toMatchObject({ expected: 40, delivered: 40, lost: 0 });
    expect(report.memory.idleRssBytes).toBeGreaterThan(0);
    expect(report.storm).not.toBeNull();
    expect(report.storm!.open).toBe(40);
    expect(report.storm!.closes['1001']).toBe(40); // the relay's SIGTERM drain
    expect(report.storm!.allBackMs).toBeGreaterThan(0);
    expect(report.storm!.afterStorm).toMatchObject({ expected: 40, delivered: 40, lost: 0 });
    expect(render100kSection(report)).toContain('| time until all sockets are back |');
    expect(liveChildren()).toBe(0);
  });
});

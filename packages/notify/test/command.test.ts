import { describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_URL, parseCommand, runCommand } from '../src/command.js';

const base = ['--user', 'teacher-1', '--type', 'batch_results_ready'];

describe('parseCommand', () => {
  it('reads a typed notification with its options', () => {
    expect(
      parseCommand(
        [
          ...base,
          '--data',
          '{"batch_id":"b1","results_count":3,"message":"Results ready"}',
          '--priority',
          'critical',
          '--prefix',
          'custom',
          '--action-required',
          '--deadline',
          '2030-01-01T00:00:00Z',
          '--correlation-id',
          'req-1',
          '--redis',
          'redis://127.0.0.1:7777',
        ],
        {},
      ),
    ).toEqual({
      kind: 'publish',
      redis: 'redis://127.0.0.1:7777',
      userId: 'teacher-1',
      prefix: 'custom',
      publishMode: 'classic',
      event: 'batch_results_ready',
      raw: false,
      data: { batch_id: 'b1', results_count: 3, message: 'Results ready' },
      priority: 'critical',
      actionRequired: true,
      deadline: '2030-01-01T00:00:00Z',
      correlationId: 'req-1',
      history: {},
      json: false,
    });
  });

  it('reads the history flags, the idempotency key and --json', () => {
    expect(
      parseCommand(
        [
          ...base,
          '--history-max-length',
          '500',
          '--history-ttl',
          '3600',
          '--idempotency-ttl',
          '600',
          '--idempotency-key',
          'batch-b1:results',
          '--json',
        ],
        {},
      ),
    ).toMatchObject({
      history: { maxLength: 500, ttlSeconds: 3600, idempotencyTtlSeconds: 600 },
      idempotencyKey: 'batch-b1:results',
      json: true,
    });
    expect(parseCommand([...base, '--no-history'], {})).toMatchObject({ history: false });
  });

  it('takes the Redis URL from --redis, then WEBSOCKET_REDIS_URL, then REDIS_URL', () => {
    const url = (argv: string[], env: Record<string, string>) => {
      const command = parseCommand([...base, ...argv], env);
      return command.kind === 'publish' ? command.redis : undefined;
    };
    const env = { WEBSOCKET_REDIS_URL: 'redis://ws:1', REDIS_URL: 'redis://plain:2' };
    expect(url(['--redis', 'redis://flag:3'], env)).toBe('redis://flag:3');
    expect(url([], env)).toBe('redis://ws:1');
    expect(url([], { REDIS_URL: 'redis://plain:2' })).toBe('redis://plain:2');
    expect(url([], {})).toBe(DEFAULT_REDIS_URL);
  });

  it('reads cluster seeds with --cluster', () => {
    expect(
      parseCommand(
        [...base, '--cluster', '--publish-mode', 'sharded', '--redis', 'redis://a:1, redis://b:2'],
        {},
      ),
    ).toMatchObject({ redis: { cluster: ['redis://a:1', 'redis://b:2'] }, publishMode: 'sharded' });
  });

  it('reads a raw event', () => {
    expect(parseCommand(['--user', 'u1', '--raw-event', 'custom_event'], {})).toMatchObject({
      event: 'custom_event',
      raw: true,
      data: {},
    });
  });

  it.each([
    [['--type', 'batch_results_ready'], '--user is required'],
    [['--user', 'u 1', '--type', 'class_created'], '--user: contains " "'],
    [['--user', 'u1'], 'give exactly one of --type'],
    [['--user', 'u1', '--type', 'class_created', '--raw-event', 'x'], 'give exactly one of --type'],
    [['--user', 'u1', '--type', 'nope'], '--type: unknown notification type "nope"'],
    [[...base, '--data', '{"batch_id":'], '--data is not valid JSON'],
    [[...base, '--data', '[1,2]'], '--data must be a JSON object'],
    [[...base, '--priority', 'urgent'], '--priority: expected one of critical, immediate'],
    [[...base, '--publish-mode', 'fast'], '--publish-mode: expected one of classic, sharded, both'],
    [
      ['--user', 'u1', '--raw-event', 'x', '--priority', 'high'],
      '--priority only applies to --type',
    ],
    [
      [...base, '--history-max-length', '1e3'],
      '--history-max-length: expected a whole number, got "1e3"',
    ],
    [[...base, '--history-ttl=-5'], '--history-ttl: expected a whole number, got "-5"'],
    [[...base, '--no-history', '--history-ttl', '60'], '--history-ttl and --no-history contradict'],
    [[...base, '--no-history', '--idempotency-key', 'k'], '--idempotency-key needs the history'],
    [[...base, '--colour', 'red'], "Unknown option '--colour'"],
    [[...base, 'stray'], "Unexpected argument 'stray'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommand(argv, {})).toThrowError(message);
  });
});

describe('runCommand', () => {
  it('prints usage for --help and exits 0', async () => {
    const out: string[] = [];
    const code = await runCommand(
      ['--help'],
      {},
      { stdout: (l) => out.push(l), stderr: (l) => out.push(l) },
    );
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('Usage: huleedu-notify --user <id>');
  });

  it('exits 2 with the bad field named when the payload is invalid, without publishing', async () => {
    const err: string[] = [];
    // Nothing listens on port 1: reaching Redis would exit 1, so 2 proves validation came first.
    const code = await runCommand(
      [...base, '--redis', 'redis://127.0.0.1:1', '--data', '{"batch_id":"b1","message":"m"}'],
      {},
      { stdout: () => {}, stderr: (l) => err.push(l) },
    );
    expect(code).toBe(2);
    expect(err.join('\n')).toBe(
      'huleedu-notify: batch_results_ready: data.results_count: expected a whole number >= 0, got nothing',
    );
  });

  it('exits 2 naming the option when a history flag is out of range, without publishing', async () => {
    const err: string[] = [];
    const code = await runCommand(
      [...base, '--redis', 'redis://127.0.0.1:1', '--history-max-length', '0', '--data', '{}'],
      {},
      { stdout: () => {}, stderr: (l) => err.push(l) },
    );
    expect(code).toBe(2);
    expect(err.join('\n')).toBe(
      'huleedu-notify: history.maxLength: expected a whole number from 1 to 10000, got number 0',
    );
  });
});

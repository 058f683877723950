import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ConnectionBudget,
  clientAddress,
  DESCRIPTOR_RESERVE,
  defaultMaxConnections,
  normalizeAddress,
} from '../src/limits/connection-budget.js';

/** A budget on a clock the test moves by hand. */
function budgetAt(limits: Partial<ConstructorParameters<typeof ConnectionBudget>[0]> = {}) {
  let now = 0;
  const budget = new ConnectionBudget(
    {
      maxConnections: 100,
      maxConnectionsPerAddress: 100,
      handshakes: { burst: 100, perSecond: 10 },
      ...limits,
    },
    () => now,
  );
  return { budget, advance: (ms: number) => (now += ms) };
}

describe('ConnectionBudget', () => {
  it('admits up to the global cap, then answers 503 until a place is released', () => {
    const { budget } = budgetAt({ maxConnections: 3 });
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
      expect(budget.admit(address)).toBeUndefined();
    }
    expect(budget.admit('10.0.0.4')).toEqual({
      reason: 'capacity',
      status: 503,
      retryAfterSeconds: 5,
    });
    budget.release('10.0.0.2');
    expect(budget.open).toBe(2);
    expect(budget.admit('10.0.0.4')).toBeUndefined();
  });

  it('releases the place of a socket when it closes, once, whatever the address', () => {
    const { budget } = budgetAt({ maxConnectionsPerAddress: 1 });
    const sockets = ['10.0.0.1', '10.0.0.2'].map((address) => {
      expect(budget.admit(address)).toBeUndefined();
      const socket = new PassThrough();
      budget.hold(socket, address);
      return socket;
    });
    expect(budget.admit('10.0.0.1')).toMatchObject({ reason: 'address_connections' });
    sockets[0]!.destroy();
    return new Promise<void>((resolve) => {
      sockets[0]!.once('close', () => {
        expect(budget.open).toBe(1);
        expect(budget.admit('10.0.0.1')).toBeUndefined();
        expect(budget.admit('10.0.0.2')).toMatchObject({ reason: 'address_connections' });
        expect(budget.open).toBe(2);
        resolve();
      });
    });
  });

  it('caps the sockets of one address with 429, leaving other addresses alone', () => {
    const { budget } = budgetAt({ maxConnectionsPerAddress: 2 });
    expect(budget.admit('10.0.0.1')).toBeUndefined();
    expect(budget.admit('10.0.0.1')).toBeUndefined();
    expect(budget.admit('10.0.0.1')).toMatchObject({ reason: 'address_connections', status: 429 });
    expect(budget.admit('10.0.0.2')).toBeUndefined();
    budget.release('10.0.0.1');
    expect(budget.admit('10.0.0.1')).toBeUndefined();
  });

  it('limits the handshake rate per address with a token bucket, and says when to retry', () => {
    const { budget, advance } = budgetAt({ handshakes: { burst: 3, perSecond: 0.5 } });
    for (let i = 0; i < 3; i++) expect(budget.admit('10.0.0.1')).toBeUndefined();
    expect(budget.admit('10.0.0.1')).toEqual({
      reason: 'handshake_rate',
      status: 429,
      retryAfterSeconds: 2,
    });
    expect(budget.admit('10.0.0.2')).toBeUndefined();
    advance(2_000);
    expect(budget.admit('10.0.0.1')).toBeUndefined();
  });

  it('ignores a release it did not admit, so counts never go below zero', () => {
    const { budget } = budgetAt();
    budget.release('10.0.0.9');
    expect(budget.open).toBe(0);
  });

  it('refuses limits that could admit nothing', () => {
    expect(() => budgetAt({ maxConnections: 0 })).toThrow(/maxConnections must be a positive/);
    expect(() => budgetAt({ handshakes: { burst: 1, perSecond: 0 } })).toThrow(
      /^handshake perSecond must be a positive number, got 0$/,
    );
  });
});

describe('clientAddress', () => {
  const proxies = new Set(['10.0.0.100']);

  it('is the peer address, whatever X-Forwarded-For claims, unless the peer is a trusted proxy', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', proxies)).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7', undefined, proxies)).toBe('203.0.113.7');
  });

  it('takes the last untrusted hop from a trusted proxy', () => {
    expect(clientAddress('10.0.0.100', 'spoofed, 198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.100', ['198.51.100.1', '10.0.0.100'], proxies)).toBe(
      '198.51.100.1',
    );
    expect(clientAddress('10.0.0.100', undefined, proxies)).toBe('10.0.0.100');
  });

  it('normalizes IPv4-mapped IPv6 addresses only', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});

describe('defaultMaxConnections', () => {
  it('is the process open-file limit less the descriptor reserve', () => {
    // This machine's limit as the kernel reports it (Linux).
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    expect(defaultMaxConnections(12_345)).toBe(Number(soft) - DESCRIPTOR_RESERVE);
  });
});

import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ConnectionBudget,
  DESCRIPTOR_RESERVE,
  defaultMaxConnections,
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

describe('defaultMaxConnections', () => {
  it('is the process open-file limit less the descriptor reserve', () => {
    // This machine's limit as the kernel reports it (Linux).
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    expect(defaultMaxConnections(12_345)).toBe(Number(soft) - DESCRIPTOR_RESERVE);
  });
});

import { describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../src/registry.js';

describe('ConnectionRegistry', () => {
  it('reports the first socket of a user and the last one leaving', () => {
    const registry = new ConnectionRegistry<string>(5);
    expect(registry.add('u1', 'tab-a')).toBe('first');
    expect(registry.add('u1', 'tab-b')).toBe('added');
    expect(registry.add('u2', 'tab-c')).toBe('first');
    expect(registry.size).toBe(3);
    expect(registry.userCount).toBe(2);
    expect(registry.socketsOf('u1')).toEqual(['tab-a', 'tab-b']);

    expect(registry.remove('u1', 'tab-a')).toBe('removed');
    expect(registry.remove('u1', 'tab-b')).toBe('last');
    expect(registry.socketsOf('u1')).toBeUndefined();
    expect(registry.size).toBe(1);
    expect(registry.userCount).toBe(1);
  });

  it('enforces the per-user limit without touching other users', () => {
    const registry = new ConnectionRegistry<number>(2);
    expect(registry.add('u1', 1)).toBe('first');
    expect(registry.add('u1', 2)).toBe('added');
    // At the limit: the next socket is refused and nothing is recorded.
    expect(registry.add('u1', 3)).toBe('limit');
    expect(registry.socketsOf('u1')?.length).toBe(2);
    expect(registry.add('u2', 4)).toBe('first');
    // A slot frees up when a socket leaves.
    registry.remove('u1', 1);
    expect(registry.add('u1', 3)).toBe('added');
  });

  it('ignores removing a socket twice or one that was never added', () => {
    const registry = new ConnectionRegistry<string>(5);
    registry.add('u1', 'a');
    expect(registry.remove('u1', 'a')).toBe('last');
    expect(registry.remove('u1', 'a')).toBe('unknown');
    expect(registry.remove('nobody', 'x')).toBe('unknown');
    registry.add('u1', 'b');
    expect(registry.remove('u1', 'not-added')).toBe('unknown');
    expect(registry.size).toBe(1);
  });

  it('visits every socket and snapshots them for safe removal', () => {
    const registry = new ConnectionRegistry<string>(5);
    registry.add('u1', 'a');
    registry.add('u1', 'b');
    registry.add('u2', 'c');
    const visited: string[] = [];
    registry.forEachSocket((s) => visited.push(s));
    expect(visited.sort()).toEqual(['a', 'b', 'c']);
    for (const socket of registry.allSockets())
      registry.remove(socket === 'c' ? 'u2' : 'u1', socket);
    expect(registry.size).toBe(0);
    expect(registry.userCount).toBe(0);
  });

  it('walks every socket a slice at a time with a cursor that resumes where it stopped', () => {
    const registry = new ConnectionRegistry<string>(5);
    for (const [user, socket] of [
      ['u1', 'a'],
      ['u1', 'b'],
      ['u2', 'c'],
      ['u3', 'd'],
    ] as const)
      registry.add(user, socket);
    const cursor = registry.cursor();
    const visited: string[] = [];
    const visit = (socket: string) => visited.push(socket);
    expect(cursor(1, visit)).toBe(2); // a user's sockets come together
    expect(cursor(1, visit)).toBe(1);
    registry.remove('u3', 'd'); // gone before its turn: skipped
    registry.add('u4', 'e'); // new: visited in this pass
    expect(cursor(5, visit)).toBe(1); // the end of the pass: fewer than asked
    expect(visited).toEqual(['a', 'b', 'c', 'e']);
    expect(cursor(2, visit)).toBe(2); // the next pass starts over
    expect(visited.slice(4)).toEqual(['a', 'b']);
    expect(new ConnectionRegistry<string>(1).cursor()(10, visit)).toBe(0);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new ConnectionRegistry(0)).toThrow(/maxPerUser must be a whole number >= 1/);
  });
});

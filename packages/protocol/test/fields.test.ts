import { describe, expect, it } from 'vitest';
import { checkFields, type FieldsValue, parseSpec } from '../src/index.js';

describe('field specs', () => {
  it('take apart into kind, nullable and optional', () => {
    expect(parseSpec('count')).toEqual({ kind: 'count', nullable: false, optional: false });
    expect(parseSpec('text?')).toEqual({ kind: 'text', nullable: false, optional: true });
    expect(parseSpec('time|null')).toEqual({ kind: 'time', nullable: true, optional: false });
    expect(parseSpec('id|null?')).toEqual({ kind: 'id', nullable: true, optional: true });
  });

  it('check each kind and say what was expected and what came', () => {
    const specs = {
      n: 'count',
      s: 'seconds',
      f: 'flag',
      l: 'texts',
      t: 'time',
      o: 'id?',
      z: 'text|null',
    } as const;
    const good: FieldsValue<typeof specs> = {
      n: 0,
      s: 1.5,
      f: true,
      l: ['a'],
      t: '2026-11-22T10:00Z',
      z: null,
    };
    expect(checkFields(specs, good, 'data')).toEqual([]);
    expect(
      checkFields(specs, { n: -1, s: Infinity, f: 'yes', l: [1], t: 'today', o: '', z: 3 }, 'd'),
    ).toEqual([
      'd.n: expected a whole number >= 0, got number -1',
      'd.s: expected a number >= 0, got number Infinity',
      'd.f: expected true or false, got "yes"',
      'd.l: expected a list of strings, got a list',
      'd.t: expected an ISO 8601 time like 2026-11-22T10:00:00Z, got "today"',
      'd.o: expected a non-empty string, got ""',
      'd.z: expected a string or null, got number 3',
    ]);
  });

  it('never echoes a long value whole', () => {
    const [problem] = checkFields({ n: 'count' }, { n: 'x'.repeat(1000) }, 'data');
    expect(problem).toBe('data.n: expected a whole number >= 0, got "xxxxxxxxxxxxxxxxxxxxxxxx..."');
  });
});

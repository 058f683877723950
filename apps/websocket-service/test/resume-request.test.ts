import { describe, expect, it } from 'vitest';
import { parseResumeRequest } from '../src/history/resume-request.js';

const parse = (query: string, recentMax = 50) =>
  parseResumeRequest(`/ws?token=t&${query}`, recentMax);

describe('parseResumeRequest', () => {
  it('reads a resume: position and epoch', () => {
    expect(parse('position=17&epoch=k3j_-Z9')).toEqual({
      ok: true,
      request: { kind: 'resume', position: 17, epoch: 'k3j_-Z9' },
    });
  });

  it('reads position 0 without an epoch as a resume from an empty history', () => {
    expect(parse('position=0')).toEqual({
      ok: true,
      request: { kind: 'resume', position: 0, epoch: '' },
    });
    // Blank parameters count as absent (a client that serialises null as nothing).
    expect(parse('position=0&epoch=')).toEqual(parse('position=0'));
  });

  it('reads a first connect, with recent or without, and caps recent instead of refusing it', () => {
    expect(parseResumeRequest('/ws?token=t', 50)).toEqual({
      ok: true,
      request: { kind: 'first', recent: 0 },
    });
    expect(parse('recent=7')).toEqual({ ok: true, request: { kind: 'first', recent: 7 } });
    expect(parse('recent=5000', 50)).toEqual({ ok: true, request: { kind: 'first', recent: 50 } });
    expect(parse(`recent=${'9'.repeat(400)}`, 50)).toEqual({
      ok: true,
      request: { kind: 'first', recent: 50 },
    });
    expect(parse('recent=3', 0)).toEqual({ ok: true, request: { kind: 'first', recent: 0 } });
  });

  it('reads parameter names spelled with percent-escapes, and a request without a query', () => {
    expect(parse('%70osition=4&%65poch=k3j')).toEqual({
      ok: true,
      request: { kind: 'resume', position: 4, epoch: 'k3j' },
    });
    expect(parse('re%63ent=x')).toEqual({
      ok: false,
      problem: 'recent must be a whole number >= 0, got "x"',
    });
    expect(parseResumeRequest('/ws', 50)).toEqual({
      ok: true,
      request: { kind: 'first', recent: 0 },
    });
    expect(parseResumeRequest('/ws?', 50)).toEqual(parseResumeRequest('/ws', 50));
  });

  it('checks but does not use recent on a resume', () => {
    expect(parse('position=2&epoch=e&recent=9')).toEqual({
      ok: true,
      request: { kind: 'resume', position: 2, epoch: 'e' },
    });
    expect(parse('position=2&epoch=e&recent=x').ok).toBe(false);
  });

  it.each([
    ['position=abc&epoch=e', 'position must be a whole number >= 0, got "abc"'],
    ['position=-1&epoch=e', 'position must be a whole number >= 0, got "-1"'],
    ['position=1.5&epoch=e', 'position must be a whole number >= 0, got "1.5"'],
    ['position=1e3&epoch=e', 'position must be a whole number >= 0, got "1e3"'],
    [
      'position=1234567890123456&epoch=e',
      'position must be a whole number >= 0, got "1234567890123456"',
    ],
    ['position=3&epoch=no%20spaces', 'epoch must match ^[A-Za-z0-9_-]{1,64}$, got "no spaces"'],
    [`position=3&epoch=${'a'.repeat(65)}`, 'epoch must match ^[A-Za-z0-9_-]{1,64}$'],
    ['epoch=e', 'epoch is given without position'],
    ['position=4', 'position 4 is given without epoch'],
    ['recent=-2', 'recent must be a whole number >= 0, got "-2"'],
    ['recent=lots', 'recent must be a whole number >= 0, got "lots"'],
    ['position=1&position=2&epoch=e', 'position is given 2 times'],
    ['recent=1&recent=1', 'recent is given 2 times'],
  ])('refuses %s, saying why', (query, problem) => {
    const result = parse(query);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(problem);
  });

  it('cuts a long bad value short in its message', () => {
    const result = parse(`position=${'x'.repeat(500)}&epoch=e`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.length).toBeLessThan(120);
  });
});

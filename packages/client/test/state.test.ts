import { describe, expect, it } from 'vitest';
import { canTransition, transitions } from '../src/state.js';

describe('connection state machine', () => {
  it('reaches open only from connecting', () => {
    const into = Object.entries(transitions)
      .filter(([, targets]) => targets.includes('open'))
      .map(([from]) => from);
    expect(into).toEqual(['connecting']);
  });

  it('can close from every state but closed, and leaves closed only by connecting again', () => {
    for (const from of ['idle', 'connecting', 'open', 'reconnecting'] as const) {
      expect(canTransition(from, 'closed')).toBe(true);
    }
    expect(canTransition('closed', 'closed')).toBe(false);
    expect(canTransition('closed', 'open')).toBe(false);
    expect(canTransition('closed', 'connecting')).toBe(true);
  });

  it('never goes from open straight back to connecting: a lost socket always passes reconnecting', () => {
    expect(canTransition('open', 'connecting')).toBe(false);
    expect(canTransition('open', 'reconnecting')).toBe(true);
  });
});

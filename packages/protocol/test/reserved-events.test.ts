import { describe, expect, it } from 'vitest';
import {
  controlEvents,
  isReservedEvent,
  notificationTypes,
  refreshEvents,
  userCommands,
} from '../src/index.js';

describe('the ws.* namespace', () => {
  it("holds every event of the service's own and no notification type", () => {
    for (const event of [
      ...Object.values(controlEvents),
      ...Object.values(refreshEvents),
      ...Object.values(userCommands),
    ]) {
      expect(isReservedEvent(event), event).toBe(true);
    }
    for (const type of notificationTypes) expect(isReservedEvent(type), type).toBe(false);
    expect(isReservedEvent('ws.anything')).toBe(true);
    expect(isReservedEvent('wsx.resync')).toBe(false);
    expect(isReservedEvent('news.ws.x')).toBe(false);
  });
});

import {
  controlEvents,
  type Envelope,
  problemsWith,
  type ResyncData,
  refreshEvents,
  resyncDataSchema,
  type SyncedData,
  syncedDataSchema,
  type TokenRefreshedData,
  tokenRefreshedDataSchema,
} from '@huleedu/ws-protocol';

/**
 * A control message the service sent (never a notification): `ws.synced` (the replay is over,
 * live from here), `ws.resync` (the gap could not be covered) or `ws.token_refreshed` (the token
 * sent on the open socket was accepted), with its checked `data`; or `invalid` with what is wrong
 * with its `data`.
 */
export type ControlMessage =
  | { kind: 'synced'; data: SyncedData }
  | { kind: 'resync'; data: ResyncData }
  | { kind: 'refreshed'; data: TokenRefreshedData }
  | { kind: 'invalid'; reason: string };

const controls = {
  [controlEvents.SYNCED]: ['synced', syncedDataSchema],
  [controlEvents.RESYNC]: ['resync', resyncDataSchema],
  [refreshEvents.TOKEN_REFRESHED]: ['refreshed', tokenRefreshedDataSchema],
} as const;

/**
 * Reads `envelope` as a control message, checking its data with the protocol's schemas; returns
 * undefined when it is a notification.
 */
export function readControl(envelope: Envelope): ControlMessage | undefined {
  const { event, data } = envelope;
  if (!Object.hasOwn(controls, event)) return undefined;
  const [kind, schema] = controls[event as keyof typeof controls];
  const problems = problemsWith(schema, data, 'data');
  if (problems) return { kind: 'invalid', reason: `${event}: ${problems}` };
  return { kind, data } as ControlMessage;
}

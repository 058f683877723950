import {
  controlEvents,
  describeIssues,
  type Envelope,
  findIssues,
  type ResyncData,
  resyncDataSchema,
  type SyncedData,
  syncedDataSchema,
} from '@huleedu/ws-protocol';

/**
 * A control message the service sent (never a notification): `ws.synced` (the replay is over,
 * live from here) or `ws.resync` (the gap could not be covered), with its checked `data`; or
 * `invalid` with what is wrong with its `data`.
 */
export type ControlMessage =
  | { kind: 'synced'; data: SyncedData }
  | { kind: 'resync'; data: ResyncData }
  | { kind: 'invalid'; reason: string };

/**
 * Reads `envelope` as a control message, checking its data with the protocol's schemas; returns
 * undefined when it is a notification.
 */
export function readControl(envelope: Envelope): ControlMessage | undefined {
  const { event, data } = envelope;
  const kind =
    event === controlEvents.SYNCED ? 'synced' : event === controlEvents.RESYNC ? 'resync' : '';
  if (!kind) return undefined;
  const schema = kind === 'synced' ? syncedDataSchema : resyncDataSchema;
  const issues = findIssues(schema, data);
  if (issues.length > 0) {
    return { kind: 'invalid', reason: `${event}: ${describeIssues(issues, 'data').join('; ')}` };
  }
  return { kind, data } as ControlMessage;
}

import type {
  AnyNotification,
  ClientError,
  ConnectionState,
  Delivery,
  NotificationClient,
  ResyncData,
  StateInfo,
} from '../../src/index.js';

/** Everything a client reported, in order. */
export interface Recording {
  states: { state: ConnectionState; info: StateInfo }[];
  errors: ClientError[];
  messages: AnyNotification[];
  /** How each of `messages` came (same index). */
  deliveries: Delivery[];
  resyncs: ResyncData[];
}

/** Subscribes to every client event and keeps what arrived. */
export function record(client: NotificationClient): Recording {
  const recording: Recording = {
    states: [],
    errors: [],
    messages: [],
    deliveries: [],
    resyncs: [],
  };
  client.onStateChange((state, info) => recording.states.push({ state, info }));
  client.onError((error) => recording.errors.push(error));
  client.onAny((message, delivery) => {
    recording.messages.push(message);
    recording.deliveries.push(delivery);
  });
  client.onResync((resync) => recording.resyncs.push(resync));
  return recording;
}

/** The states the client went through, e.g. `['connecting', 'open', 'reconnecting']`. */
export function statesOf(recording: Recording): ConnectionState[] {
  return recording.states.map((entry) => entry.state);
}

/** The info of the last change to `state`. */
export function lastInfo(recording: Recording, state: ConnectionState): StateInfo | undefined {
  return [...recording.states].reverse().find((entry) => entry.state === state)?.info;
}

import {
  controlEvents,
  type ResyncReason,
  resumeParams,
  type SyncedData,
} from '@huleedu/ws-protocol';
import type { WebSocket } from 'ws';
import { frame } from './notifications.js';
import { type ScriptedServer, startScriptedServer } from './scripted-server.js';

/**
 * A protocol peer of the service's delivery guarantee, small enough to read in one go: one
 * user's history (positions 1, 2, ... in one epoch), resume from `position`/`epoch`, `recent`,
 * `ws.synced` and `ws.resync` as `packages/protocol/src/history.ts` specifies them. Not the
 * service: its merge, limits and Redis are tested against the real process.
 */
export interface HistoryServer {
  server: ScriptedServer;
  /** `ws://127.0.0.1:<port>/ws` */
  url: string;
  /** The history's epoch; {@link lose} starts a new one. */
  epoch: string;
  /** The last position assigned (0: no history). */
  readonly top: number;
  /** At most this many messages are replayed; more missed means `replay_limit`. Default 100. */
  maxReplay: number;
  /** Appends a positioned message and sends it live to every open socket; returns the frame. */
  publish(event: string, data: unknown): string;
  /** Appends a positioned message without a live copy: published while the client was away. */
  append(event: string, data: unknown): string;
  /** Drops every socket without a close frame (the client sees 1006), as a network cut does. */
  cut(): void;
  /** Drops every entry at or below `position` (as a count limit would). */
  trimThrough(position: number): void;
  /** Loses the history (Redis lost its data): a new epoch, no entries. */
  lose(newEpoch: string): void;
  /** Sends `text` to every open socket as is. */
  send(text: string): void;
  close(): Promise<void>;
}

/** Starts a {@link HistoryServer} on 127.0.0.1. */
export async function startHistoryServer(epoch = 'epoch-a'): Promise<HistoryServer> {
  const server = await startScriptedServer();
  // entries[i] holds the frame of position `first + i`.
  let entries: string[] = [];
  let first = 1;
  const peer: HistoryServer = {
    server,
    url: server.url,
    epoch,
    get top() {
      return first + entries.length - 1;
    },
    maxReplay: 100,
    publish(event, data) {
      const text = peer.append(event, data);
      server.broadcast(text);
      return text;
    },
    append(event, data) {
      const text = JSON.stringify({ position: peer.top + 1, epoch: peer.epoch, event, data });
      entries.push(text);
      return text;
    },
    cut() {
      for (const { socket } of server.connections) socket.terminate();
    },
    trimThrough(position) {
      entries = entries.slice(position - first + 1);
      first = position + 1;
    },
    lose(newEpoch) {
      peer.epoch = newEpoch;
      entries = [];
      first = 1;
    },
    send: (text) => server.broadcast(text),
    close: () => server.close(),
  };
  server.onConnection = ({ query, socket }) => {
    const epoch = peer.top > 0 ? peer.epoch : null;
    const resync = (reason: ResyncReason) =>
      control(socket, controlEvents.RESYNC, { reason, position: peer.top, epoch });
    const replay = (from: number) => {
      const missed = entries.slice(Math.max(0, from - first));
      for (const text of missed) socket.send(text);
      const synced: SyncedData = { position: peer.top, epoch, replayed: missed.length };
      control(socket, controlEvents.SYNCED, synced);
    };
    const position = query.get(resumeParams.POSITION);
    if (position === null) {
      const recent = Math.min(Number(query.get(resumeParams.RECENT) ?? 0), peer.maxReplay);
      replay(peer.top - recent + 1);
      return;
    }
    const after = Number(position);
    // position 0 without an epoch: the client saw an empty history; all of this epoch is new.
    const sameEpoch =
      query.get(resumeParams.EPOCH) === epoch || (after === 0 && !query.has('epoch'));
    if (!sameEpoch || after > peer.top) resync('history_lost');
    else if (after + 1 < first) resync('history_trimmed');
    else if (peer.top - after > peer.maxReplay) resync('replay_limit');
    else replay(after + 1);
  };
  return peer;
}

function control(socket: WebSocket, event: string, data: unknown): void {
  socket.send(frame(event, data));
}

import { waitFor } from '@huleedu/test-support';
import type { Notification, NotificationData } from '@huleedu/ws-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { frame, resultsReady } from './support/notifications.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  closeTestClients();
  await server.close();
});

async function openClient() {
  const test = testClient(server.url);
  test.client.connect();
  await waitFor(() => test.client.state === 'open');
  return test;
}

describe('incoming notifications', () => {
  it('calls the typed handler with the validated data and the whole message', async () => {
    const { client, recording } = await openClient();
    const received: [
      NotificationData<'batch_results_ready'>,
      Notification<'batch_results_ready'>,
    ][] = [];
    const otherType: unknown[] = [];
    client.on('batch_results_ready', (data, message) => received.push([data, message]));
    client.on('class_created', (data) => otherType.push(data));
    server.broadcast(frame('batch_results_ready', resultsReady('batch-7')));
    await waitFor(() => received.length === 1);
    const [data, message] = received[0]!;
    expect(data).toEqual(resultsReady('batch-7'));
    expect(data.results_count).toBe(24);
    expect(message.event).toBe('batch_results_ready');
    expect(otherType).toEqual([]);
    expect(recording.messages).toEqual([message]);
  });

  it('keeps fields the catalogue does not know yet, and the envelope id', async () => {
    const { client } = await openClient();
    const received: Notification<'batch_results_ready'>[] = [];
    client.on('batch_results_ready', (_data, message) => received.push(message));
    server.broadcast(
      JSON.stringify({
        event: 'batch_results_ready',
        data: { ...resultsReady('b'), new_field: 1 },
        id: 'm-1',
      }),
    );
    await waitFor(() => received.length === 1);
    expect(received[0]).toMatchObject({ id: 'm-1', data: { new_field: 1 } });
  });

  it('hands unknown notification types to onAny only, without an error', async () => {
    const { recording } = await openClient();
    server.broadcast(frame('essay_feedback_published', { essay_id: 'e1' }));
    await waitFor(() => recording.messages.length === 1);
    expect(recording.messages[0]).toEqual({
      event: 'essay_feedback_published',
      data: { essay_id: 'e1' },
    });
    expect(recording.errors).toEqual([]);
  });

  it('reports a frame that is not JSON as invalid_message and keeps going', async () => {
    const { recording } = await openClient();
    server.broadcast('{"event": nope');
    server.broadcast(frame('batch_results_ready', resultsReady('after')));
    await waitFor(() => recording.messages.length === 1);
    expect(recording.errors).toEqual([
      { code: 'invalid_message', message: 'not JSON', detail: '{"event": nope' },
    ]);
  });

  it('reports a known type with a wrong payload, naming the bad field, and does not deliver it', async () => {
    const { client, recording } = await openClient();
    const delivered: unknown[] = [];
    client.on('batch_results_ready', (data) => delivered.push(data));
    server.broadcast(frame('batch_results_ready', { ...resultsReady('b'), results_count: 'many' }));
    await waitFor(() => recording.errors.length === 1);
    expect(recording.errors[0]?.code).toBe('invalid_message');
    expect(recording.errors[0]?.message).toContain('data.results_count');
    expect(delivered).toEqual([]);
    expect(recording.messages).toEqual([]);
  });

  it('reports envelopes without an event or data', async () => {
    const { recording } = await openClient();
    server.broadcast(JSON.stringify({ data: {} }));
    server.broadcast(JSON.stringify({ event: 'class_created', data: 'text' }));
    await waitFor(() => recording.errors.length === 2);
    expect(recording.errors[0]?.message).toContain('event');
    expect(recording.errors[1]?.message).toContain('data');
  });

  it('reports binary frames', async () => {
    const { recording } = await openClient();
    for (const { socket } of server.connections) socket.send(Buffer.from([1, 2, 3]));
    await waitFor(() => recording.errors.length === 1);
    expect(recording.errors[0]?.code).toBe('invalid_message');
  });

  it('survives a handler that throws: reported as handler_failed, other handlers still run', async () => {
    const { client, recording } = await openClient();
    const seen: string[] = [];
    client.on('batch_results_ready', () => {
      throw new Error('app bug');
    });
    client.on('batch_results_ready', (data) => seen.push(data.batch_id));
    server.broadcast(frame('batch_results_ready', resultsReady('one')));
    server.broadcast(frame('batch_results_ready', resultsReady('two')));
    await waitFor(() => recording.messages.length === 2);
    expect(seen).toEqual(['one', 'two']);
    expect(recording.errors.map((e) => e.code)).toEqual(['handler_failed', 'handler_failed']);
    expect(recording.errors[0]?.message).toContain('app bug');
    expect(client.state).toBe('open');
  });

  it('stops calling a handler after its unsubscribe function is called', async () => {
    const { client, recording } = await openClient();
    const seen: string[] = [];
    const off = client.on('batch_results_ready', (data) => seen.push(data.batch_id));
    server.broadcast(frame('batch_results_ready', resultsReady('before')));
    await waitFor(() => recording.messages.length === 1);
    off();
    server.broadcast(frame('batch_results_ready', resultsReady('after')));
    await waitFor(() => recording.messages.length === 2);
    expect(seen).toEqual(['before']);
  });
});

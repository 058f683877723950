import { afterEach, describe, expect, it } from 'vitest';
import { textFrame } from '../src/frames.js';
import { socketPairs, textFrames } from './helpers.js';

let teardown: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of teardown.reverse()) await step();
  teardown = [];
});

describe('prebuilt frames', () => {
  it('reach a ws client as the exact text, at every length encoding', async () => {
    const pairs = await socketPairs({ maxPayload: 1 << 20 });
    teardown.push(pairs.close);
    const { server, client } = await pairs.open();
    const received = textFrames(client);
    // 7-bit, 16-bit and 64-bit payload lengths, each side of the boundaries; multi-byte UTF-8.
    const lengths = [0, 1, 125, 126, 65_535, 65_536, 200_000];
    const texts = lengths.map((n, i) => `${'é'.repeat(i)}${'x'.repeat(n)}`.slice(0, n));
    for (const text of texts) server.transport!.write(textFrame(Buffer.from(text)));
    server.sendPing(); // a control frame between data frames breaks nothing
    server.transport!.write(textFrame(Buffer.from('after the ping')));
    await expect.poll(() => received.length).toBe(texts.length + 1);
    expect(received).toEqual([...texts, 'after the ping']);
  });

  it('frames once for every socket: the same buffer is written to each', async () => {
    const pairs = await socketPairs();
    teardown.push(pairs.close);
    const tabs = [await pairs.open(), await pairs.open()];
    const frame = textFrame(Buffer.from('{"event":"x","data":{}}'));
    const received = tabs.map((tab) => textFrames(tab.client));
    for (const tab of tabs) tab.server.transport!.write(frame);
    await expect.poll(() => received.map((r) => r.length)).toEqual([1, 1]);
    expect(received).toEqual([['{"event":"x","data":{}}'], ['{"event":"x","data":{}}']]);
  });
});

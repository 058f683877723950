import { Redis } from 'ioredis';

/** A raw ioredis subscriber recording what arrives on channels, as any backend would see it. */
export interface RecordingSubscriber {
  readonly messages: { channel: string; message: string }[];
  /** Connection errors, kept so ioredis does not report them as unhandled. */
  readonly errors: Error[];
  subscribe(...channels: string[]): Promise<void>;
  ssubscribe(...channels: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Connects a subscriber to `url` and records every message it receives. */
export async function recordingSubscriber(url: string): Promise<RecordingSubscriber> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const messages: { channel: string; message: string }[] = [];
  const errors: Error[] = [];
  client.on('error', (error: Error) => errors.push(error));
  client.on('message', (channel: string, message: string) => messages.push({ channel, message }));
  client.on('smessage', (channel: string, message: string) => messages.push({ channel, message }));
  return {
    messages,
    errors,
    async subscribe(...channels) {
      await client.subscribe(...channels);
    },
    async ssubscribe(...channels) {
      await client.ssubscribe(...channels);
    },
    async close() {
      client.disconnect();
    },
  };
}

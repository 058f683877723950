import { readFileSync } from 'node:fs';
import { markdownFiles, repositoryRoot, waitFor } from '@huleedu/test-support';
import { describe, expect, it } from 'vitest';
import { closeTestClients, testClient } from './support/clients.js';
import { type DocExample, docExamples } from './support/doc-examples.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

// Every notification the READMEs and docs show must be one this client accepts: each example is
// sent as a frame to a real client, whose validation must deliver it without an error.
const root = repositoryRoot();

/** Sends each example to a connected client; returns `<source>: <problem>` for each refusal. */
async function refusals(examples: DocExample[]): Promise<string[]> {
  const server = await startScriptedServer();
  try {
    return await sendThrough(server, examples);
  } finally {
    closeTestClients();
    await server.close();
  }
}

async function sendThrough(server: ScriptedServer, examples: DocExample[]): Promise<string[]> {
  const { client, recording } = testClient(server.url);
  client.connect();
  await waitFor(() => client.state === 'open');
  const problems = examples.flatMap((e) => (e.problem ? [`${e.source}: ${e.problem}`] : []));
  const sent = examples.filter((example) => example.frame !== undefined);
  for (const example of sent) server.broadcast(example.frame ?? '');
  await waitFor(() => recording.messages.length + recording.errors.length === sent.length);
  for (const error of recording.errors) {
    const source = sent.find((example) => example.frame === error.detail)?.source;
    problems.push(`${source ?? '?'}: ${error.code} ${error.message}`);
  }
  return problems;
}

describe('example notifications in the docs', () => {
  const examples = markdownFiles(root).flatMap((file) =>
    docExamples(file, readFileSync(`${root}${file}`, 'utf8')),
  );

  it('finds the examples of the root README, the service, notify and the architecture doc', () => {
    const count = (file: string) =>
      examples.filter((example) => example.source.startsWith(`${file}:`)).length;
    expect(count('README.md')).toBeGreaterThanOrEqual(3); // TypeScript, CLI, PUBLISH
    expect(count('apps/websocket-service/README.md')).toBeGreaterThanOrEqual(1);
    expect(count('packages/notify/README.md')).toBeGreaterThanOrEqual(4);
    expect(count('docs/architecture.md')).toBeGreaterThanOrEqual(1);
  });

  it('are all accepted by @huleedu/ws-client', async () => {
    expect(await refusals(examples)).toEqual([]);
  });

  it('would catch a doc publishing an incomplete payload', async () => {
    const doc = [
      'redis-cli PUBLISH ws:teacher-1 \'{"event":"batch_results_ready","data":{"batch_id":"b1"}}\'',
      'huleedu-notify --user t --type batch_results_ready --data \'{"batch_id":"b1"}\'',
    ].join('\n');
    const problems = await refusals(docExamples('doc.md', doc));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^doc\.md:2: .*data\.results_count/);
    expect(problems[1]).toMatch(/^doc\.md:1: invalid_message batch_results_ready: .*data\.message/);
  });
});

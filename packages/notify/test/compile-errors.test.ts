// What a backend developer reads when a payload is wrong: the compiler's own message, which must
// name the offending field. Compiles small snippets against src/ with the TypeScript API.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const testDir = fileURLToPath(new URL('.', import.meta.url));

/** The compiler's error messages for `body`, compiled as a file in test/. */
function compileErrors(body: string): string[] {
  const file = join(testDir, 'snippet.ts');
  const source = `import type { Notifier } from '../src/index.js';\ndeclare const notifier: Notifier;\n${body}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    name === file
      ? ts.createSourceFile(name, source, version)
      : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('compile-time errors of publishUserNotification', () => {
  it('accept a correct payload', () => {
    expect(
      compileErrors(
        `void notifier.publishUserNotification('u', 'batch_results_ready', { batch_id: 'b', results_count: 1, message: 'm' });`,
      ),
    ).toEqual([]);
  });

  it('name a misspelt optional field', () => {
    const [error, ...more] = compileErrors(
      `void notifier.publishUserNotification('u', 'batch_results_ready', { batch_id: 'b', clas_id: 'c', results_count: 1, message: 'm' });`,
    );
    expect(more).toEqual([]);
    expect(error).toContain(`'clas_id' does not exist in type`);
  });

  it('name a shared field put in the payload', () => {
    const [error] = compileErrors(
      `void notifier.publishUserNotification('u', 'batch_results_ready', { batch_id: 'b', results_count: 1, message: 'm', priority: 'high' });`,
    );
    expect(error).toContain(`'priority' does not exist in type`);
  });
}, 60_000);

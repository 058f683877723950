import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paths } from './files.js';
import { checkExpressions, docExpressions } from './promql.js';

const repositoryRoot = join(paths.deploy, '..');

describe('PromQL in the docs', () => {
  it('is valid wherever a doc writes an expression (promtool)', () => {
    const expressions = docExpressions(repositoryRoot);
    expect(expressions.length).toBeGreaterThan(3);
    expect(checkExpressions(expressions.map((e) => e.expr))).toMatch(/SUCCESS/);
  });

  it('finds an invalid expression (a rate without a range)', () => {
    expect(() => checkExpressions(['rate(huleedu_ws_connections_accepted_total)'])).toThrow(
      /range vector/,
    );
  });
});

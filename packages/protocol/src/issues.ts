import type * as z from 'zod/mini';

const none: readonly SchemaIssue[] = [];

/** One problem zod found: `path`, `code`, `message` (what was expected) and, with {@link reportInput}, `input`. */
export type SchemaIssue = z.core.$ZodIssue;

/** What a value is, in words, for error messages (never the whole value). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') {
    return value.length > 24 ? `"${value.slice(0, 24)}..."` : JSON.stringify(value);
  }
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * Parse options for every check in this package: zod copies the offending value into each issue,
 * so messages can say what was received.
 */
export const reportInput = { reportInput: true } as const;

/**
 * What `schema` finds wrong with `value`: zod's issues, offending values included (empty when
 * the value is valid). Never throws. A valid value is parsed once, without {@link reportInput}:
 * asking zod for the inputs makes every parse, including the good ones, several times slower, and
 * this runs for every message the service and the client receive.
 */
export function findIssues(schema: z.ZodMiniType, value: unknown): readonly SchemaIssue[] {
  if (schema.safeParse(value).success) return none;
  return schema.safeParse(value, reportInput).error?.issues ?? none;
}

/**
 * One line per bad field of a failed zod parse: path, what was expected, what came, e.g.
 * `data.results_count: expected a whole number >= 0, got "three"`, or for a strict schema
 * `data.clas_id: unknown field`. `root` prefixes every path (`data` for a payload). The
 * schemas of this package word their own expectations, so no zod locale is needed; parse with
 * {@link reportInput} to get the values.
 */
export function describeIssues(issues: readonly SchemaIssue[], root = ''): string[] {
  // One line per field: zod may report a field twice (a length check after a failed type check).
  const lines = new Map<string, string>();
  const add = (path: string, problem: string) => {
    if (!lines.has(path)) lines.set(path, path ? `${path}: ${problem}` : problem);
  };
  for (const issue of issues) {
    const path = [root, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    if (issue.code !== 'unrecognized_keys') {
      add(path, `expected ${issue.message}, got ${describeValue(issue.input)}`);
    } else {
      for (const key of issue.keys) add(path ? `${path}.${key}` : key, 'unknown field');
    }
  }
  return [...lines.values()];
}

/**
 * What `schema` finds wrong with `value`, as one line: {@link describeIssues} joined with `; `
 * (`root` prefixes every path), or `''` when the value is valid. Never throws.
 */
export function problemsWith(schema: z.ZodMiniType, value: unknown, root = ''): string {
  return describeIssues(findIssues(schema, value), root).join('; ');
}

import * as z from 'zod/mini';

/**
 * The wire format of every notification, on Redis and on the socket: `{"event", "data"}`.
 * Existing backends publish exactly this; `id` is an optional per-message id added by
 * `@huleedu/notify`. Unknown extra top-level fields are kept (loose), so new fields can be added
 * without breaking older readers.
 */
export const envelopeSchema = z.looseObject({
  event: z.string().check(z.minLength(1)),
  data: z.record(z.string(), z.unknown()),
  id: z.optional(z.string()),
});

/** A parsed notification envelope. */
export type Envelope = z.infer<typeof envelopeSchema>;

/** Result of {@link parseEnvelope}: the envelope, or a reason a person can act on. */
export type ParseEnvelopeResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/**
 * Parses one text frame or Redis payload as an envelope. Never throws: malformed input yields
 * `{ ok: false, reason }` (for example `not JSON` or `event: expected string`).
 */
export function parseEnvelope(text: string): ParseEnvelopeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const result = envelopeSchema.safeParse(value);
  if (!result.success) return { ok: false, reason: describeIssues(result.error.issues) };
  return { ok: true, envelope: result.data };
}

/** The parts of a zod issue that {@link describeIssues} reads. */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly minimum?: unknown;
  readonly maximum?: unknown;
  readonly keys?: readonly string[];
  readonly format?: string;
}

/**
 * Turns schema issues into one line naming each bad field, e.g.
 * `data.batch_id: expected string; data.priority: expected one of "critical"|"high"`.
 * Works without zod's locale bundle, which keeps browser bundles small.
 */
export function describeIssues(issues: readonly SchemaIssue[], root = ''): string {
  return issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.') || '(root)';
      return `${path}: ${describeIssue(issue)}`;
    })
    .join('; ');
}

function describeIssue(issue: SchemaIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join('|')}`;
    case 'too_small':
      return `too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      return `too big (maximum ${String(issue.maximum)})`;
    case 'invalid_format':
      return `invalid ${issue.format ?? 'format'}`;
    case 'unrecognized_keys':
      return `unexpected keys ${(issue.keys ?? []).join(', ')}`;
    default:
      return issue.message && issue.message !== 'Invalid input' ? issue.message : issue.code;
  }
}

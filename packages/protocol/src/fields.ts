import * as z from 'zod/mini';

// Every field schema carries, as its error, what it expects in words, so a failed check reads
// `data.results_count: expected a whole number >= 0, got "three"` without zod's locale bundle.

/** JSON Schema keywords, as plain JSON. */
export type JsonKeywords = Readonly<Record<string, unknown>>;

/**
 * The JSON Schema keywords of every schema {@link refined} made. The protocol's field checks are
 * plain predicates that zod runs (`z.refine`): they accept exactly what zod's own enums, booleans,
 * patterns, lengths, integers and bounds would, with less code in a browser bundle. JSON Schema
 * cannot read a predicate, so the keywords that say the same stand next to it, and
 * `json-schema.ts` writes them.
 */
export const refinedKeywords = new WeakMap<z.ZodMiniType, JsonKeywords>();

/**
 * `schema` refined by `accepts`: a value it refuses fails with `expected` as the message.
 * `keywords` say in JSON Schema what `accepts` does.
 */
export function refined<S extends z.ZodMiniType>(
  schema: S,
  expected: string,
  accepts: (value: z.output<S>) => boolean,
  keywords: JsonKeywords,
): S {
  const checked = schema.check(z.refine(accepts, expected));
  refinedKeywords.set(checked, keywords);
  return checked;
}

/**
 * A string that matches `pattern`, whose source is the JSON Schema `pattern` (so it is written
 * without flags). `expected` words the error; `type` the error for a value that is not a string.
 */
export const matching = (pattern: RegExp, expected: string, type = expected) =>
  refined(z.string(type), expected, (value) => pattern.test(value), { pattern: pattern.source });

/**
 * Exactly one of the strings `values` (its error lists them: `one of a|b|c`): accepts what
 * `z.enum(values)` does, and says so in JSON Schema (`enum`) and in its type.
 */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => {
  const expected = `one of ${values.join('|')}`;
  const known: readonly string[] = values;
  return refined(z.string(expected), expected, (value) => known.includes(value), {
    enum: values,
  }) as z.ZodMiniType<T[number]>;
};

/** Every category, in the order of {@link categorySchema}. */
export const categories = [
  'batch_progress',
  'processing_results',
  'file_operations',
  'class_management',
  'student_workflow',
  'system_alerts',
] as const;
/** Notification categories, as the platform sends them. */
export const categorySchema = oneOf(categories);
/** One of {@link categories}. */
export type Category = z.infer<typeof categorySchema>;

/** Every priority, most urgent first. */
export const priorities = ['critical', 'immediate', 'high', 'standard', 'low'] as const;
/** Notification priorities, most urgent first. */
export const prioritySchema = oneOf(priorities);
/** One of {@link priorities}. */
export type Priority = z.infer<typeof prioritySchema>;

/**
 * ISO 8601 date-time: date, `T`, hours and minutes, optional seconds and fraction, optional `Z` or
 * `±hh:mm` offset (Python's naive `isoformat()` has none).
 */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A non-empty string: an id. `expected` words the error (nullable fields add "or null"). */
export const id = (expected = 'a non-empty string') =>
  refined(z.string(expected), expected, (value) => value.length > 0, { minLength: 1 });

/** Any string: a human sentence, a file name, a URL. */
export const text = (expected = 'a string') => z.string(expected);

/** A whole number >= 0, within the safe integer range (exact in every language). */
export const count = (expected = 'a whole number >= 0') =>
  refined(z.number(expected), expected, (value) => Number.isSafeInteger(value) && value >= 0, {
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
  });

/** A finite number >= 0, e.g. a duration in seconds. */
export const seconds = (expected = 'a number >= 0') =>
  refined(z.number(expected), expected, (value) => value >= 0, { minimum: 0 });

/**
 * `true` or `false`: any value refined to a boolean, which accepts exactly what `z.boolean()`
 * does (the type says so) with less code in a browser bundle.
 */
export const flag = (expected = 'true or false') =>
  refined(z.unknown(), expected, (value) => typeof value === 'boolean', {
    type: 'boolean',
  }) as z.ZodMiniType<boolean>;

/** A list of strings. */
export const texts = (expected = 'a list of strings') => z.array(text(), expected);

/** An ISO 8601 time such as `2026-11-22T10:00:00Z` (see {@link ISO_TIME}). */
export const isoTime = (expected = 'an ISO 8601 time like 2026-11-22T10:00:00Z') =>
  matching(ISO_TIME, expected);

/**
 * What a link in a notification may be: an absolute `http://` or `https://` URL with a host, or
 * a path on the app's own origin (`/batches/b1/results`, but not `//host` or `/\host`, which
 * browsers read as another host). No `javascript:`, `data:` or other scheme, no whitespace or
 * control characters. Written without flags so the JSON Schema `pattern` means the same.
 */
export const LINK_PATTERN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  /^(?:[Hh][Tt][Tt][Pp][Ss]?:\/\/[^\s\x00-\x1f/?#\\@]+(?:[/?#][^\s\x00-\x1f]*)?|\/(?![/\\])[^\s\x00-\x1f]*)$/;

/** A link a browser may follow: see {@link LINK_PATTERN}. */
export const link = (expected = 'an http(s) URL or a path starting with /') =>
  matching(LINK_PATTERN, expected);

import { type Category, categories, type Priority, priorities } from './values.js';

/**
 * The kinds of value a notification field can hold:
 * `id` non-empty string, `text` string, `count` whole number >= 0, `seconds` number >= 0,
 * `flag` boolean, `texts` list of strings, `time` ISO 8601 date-time, `category`, `priority`.
 */
export type FieldKind =
  | 'id'
  | 'text'
  | 'count'
  | 'seconds'
  | 'flag'
  | 'texts'
  | 'time'
  | 'category'
  | 'priority';

/**
 * A field's schema in one word: its kind, `|null` when null is allowed, `?` when it may be left
 * out. For example `'count'`, `'text?'`, `'id|null?'`.
 */
export type FieldSpec = FieldKind | `${FieldKind}?` | `${FieldKind}|null` | `${FieldKind}|null?`;

/** A set of named fields: the schema of one payload. */
export type FieldSpecs = Readonly<Record<string, FieldSpec>>;

type KindValue<K> = K extends 'id' | 'text' | 'time'
  ? string
  : K extends 'count' | 'seconds'
    ? number
    : K extends 'flag'
      ? boolean
      : K extends 'texts'
        ? string[]
        : K extends 'category'
          ? Category
          : K extends 'priority'
            ? Priority
            : never;

/** The TypeScript type a field spec describes. */
export type SpecValue<S> = S extends `${infer K}|null?`
  ? KindValue<K> | null
  : S extends `${infer K}|null`
    ? KindValue<K> | null
    : S extends `${infer K}?`
      ? KindValue<K>
      : KindValue<S>;

type OptionalKeys<F> = { [K in keyof F]: F[K] extends `${string}?` ? K : never }[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The object type a set of field specs describes (optional fields become optional properties). */
export type FieldsValue<F extends FieldSpecs> = Simplify<
  { -readonly [K in Exclude<keyof F, OptionalKeys<F>>]: SpecValue<F[K]> } & {
    -readonly [K in OptionalKeys<F>]?: SpecValue<F[K]>;
  }
>;

/**
 * ISO 8601 date-time: date, `T`, hours and minutes, optional seconds and fraction, optional `Z` or
 * `±hh:mm` offset (Python's naive `isoformat()` has none).
 */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A field spec taken apart. */
export interface ParsedSpec {
  readonly kind: FieldKind;
  readonly nullable: boolean;
  readonly optional: boolean;
}

/** Takes a field spec apart: `'id|null?'` -> `{ kind: 'id', nullable: true, optional: true }`. */
export function parseSpec(spec: FieldSpec): ParsedSpec {
  const optional = spec.endsWith('?');
  const base = optional ? spec.slice(0, -1) : spec;
  const nullable = base.endsWith('|null');
  return { kind: (nullable ? base.slice(0, -5) : base) as FieldKind, nullable, optional };
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** For each kind: the check, and what was expected, in words. */
const kinds: Record<FieldKind, [(v: unknown) => boolean, string]> = {
  id: [(v) => isString(v) && v.length > 0, 'a non-empty string'],
  text: [isString, 'a string'],
  count: [(v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a whole number >= 0'],
  seconds: [(v) => isNumber(v) && v >= 0, 'a number >= 0'],
  flag: [(v) => typeof v === 'boolean', 'true or false'],
  texts: [(v) => Array.isArray(v) && v.every(isString), 'a list of strings'],
  time: [(v) => isString(v) && ISO_TIME.test(v), 'an ISO 8601 time like 2026-11-22T10:00:00Z'],
  category: [
    (v) => (categories as readonly unknown[]).includes(v),
    `one of ${categories.join('|')}`,
  ],
  priority: [
    (v) => (priorities as readonly unknown[]).includes(v),
    `one of ${priorities.join('|')}`,
  ],
};

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

/** True for a JSON object: not null, not a list. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks `value` against field specs and returns one message per bad field, each naming the field
 * (`data.results_count: expected a whole number >= 0, got "three"`). Extra fields are allowed.
 */
export function checkFields(specs: FieldSpecs, value: unknown, path: string): string[] {
  if (!isRecord(value)) return [`${path}: expected an object, got ${describeValue(value)}`];
  const problems: string[] = [];
  for (const name in specs) {
    const { kind, nullable, optional } = parseSpec(specs[name] as FieldSpec);
    const field = value[name];
    if (field === undefined ? optional : field === null ? nullable : kinds[kind][0](field))
      continue;
    const expected = kinds[kind][1] + (nullable ? ' or null' : '');
    problems.push(`${path}.${name}: expected ${expected}, got ${describeValue(field)}`);
  }
  return problems;
}

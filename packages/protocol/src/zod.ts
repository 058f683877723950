/**
 * `@huleedu/ws-protocol/zod`: the catalogue as zod schemas, for backends that compose schemas or
 * export JSON Schema (`z.toJSONSchema`) for other languages. Built from the same field table as
 * the main entry's checks, and tested to accept and refuse the same values. Kept out of the main
 * entry so browser bundles never carry zod.
 */
import * as z from 'zod/mini';
import { type FieldKind, type FieldSpec, type FieldSpecs, ISO_TIME, parseSpec } from './fields.js';
import {
  type NotificationData,
  type NotificationMeta,
  type NotificationPayload,
  type NotificationType,
  notificationCatalog,
  notificationMetaFields,
  notificationTypes,
} from './notifications.js';
import { categories, priorities } from './values.js';

const kindSchemas: Record<FieldKind, () => z.ZodMiniType> = {
  id: () => z.string().check(z.minLength(1)),
  text: () => z.string(),
  count: () => z.int().check(z.gte(0)),
  seconds: () => z.number().check(z.gte(0)),
  flag: () => z.boolean(),
  texts: () => z.array(z.string()),
  time: () => z.string().check(z.regex(ISO_TIME)),
  category: () => z.enum(categories),
  priority: () => z.enum(priorities),
};

function fieldSchema(spec: FieldSpec): z.ZodMiniType {
  const { kind, nullable, optional } = parseSpec(spec);
  let schema = kindSchemas[kind]();
  if (nullable) schema = z.nullable(schema);
  if (optional) schema = z.optional(schema);
  return schema;
}

function fieldsShape(specs: FieldSpecs): Record<string, z.ZodMiniType> {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, fieldSchema(spec)]));
}

/** The envelope `{event, data, id?}`; extra top-level fields pass. */
export const envelopeSchema = z.looseObject({
  event: z.string().check(z.minLength(1)),
  data: z.record(z.string(), z.unknown()),
  id: z.optional(z.string()),
});

/** The shared fields of every notification's `data`. */
export const notificationMetaSchema = z.looseObject(
  fieldsShape(notificationMetaFields),
) as unknown as z.ZodMiniType<NotificationMeta>;

/** For each notification type, the schema of the payload a backend supplies. */
export const payloadSchemas = Object.fromEntries(
  notificationTypes.map((type) => [
    type,
    z.looseObject(fieldsShape(notificationCatalog[type].fields)),
  ]),
) as unknown as { readonly [T in NotificationType]: z.ZodMiniType<NotificationPayload<T>> };

/** For each notification type, the schema of the full `data` a client receives. */
export const dataSchemas = Object.fromEntries(
  notificationTypes.map((type) => [
    type,
    z.looseObject({
      ...fieldsShape(notificationCatalog[type].fields),
      ...fieldsShape(notificationMetaFields),
    }),
  ]),
) as unknown as { readonly [T in NotificationType]: z.ZodMiniType<NotificationData<T>> };

/** The parts of a zod issue that {@link describeIssues} reads. */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: string;
}

/**
 * Turns zod issues into one line naming each bad field, e.g. `data.batch_id: invalid_type
 * (expected string)`. Works without zod's locale bundle.
 */
export function describeIssues(issues: readonly SchemaIssue[], root = ''): string {
  return issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.') || '(root)';
      const expected = issue.expected ? ` (expected ${issue.expected})` : '';
      return `${path}: ${issue.code}${expected}`;
    })
    .join('; ');
}

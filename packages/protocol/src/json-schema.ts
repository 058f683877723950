/**
 * `@huleedu/ws-protocol/json-schema`: the protocol as JSON Schema (draft 2020-12), generated from
 * the zod schemas with `z.toJSONSchema`, for backends in other languages. The package ships the
 * result as `schema/notifications.schema.json`; `pnpm --filter @huleedu/ws-protocol build:schema`
 * rewrites it, and a test fails while the committed file is stale.
 */
import * as z from 'zod/mini';
import { envelopeSchema } from './envelope.js';
import { refinedKeywords } from './fields.js';
import { notificationCatalog, notificationTypes, publishedDataSchemas } from './notifications.js';

/** A JSON Schema document, as plain JSON. */
export type JsonSchema = { [key: string]: unknown };

/** Adds what zod cannot read off a schema made by `refined()`: its {@link refinedKeywords}. */
function refinedAsKeywords(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  Object.assign(ctx.jsonSchema, refinedKeywords.get(ctx.zodSchema as z.ZodMiniType));
}

function definition(schema: z.ZodMiniType, description: string): JsonSchema {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, {
    override: refinedAsKeywords,
  }) as JsonSchema;
  return { description, ...rest };
}

/**
 * The whole protocol as one JSON Schema document. It validates one Redis message: an envelope
 * (`$defs.envelope`) whose `data`, when `event` names a catalogue type, is exactly that type's
 * complete `data` (`$defs.<type>`: payload plus shared fields, no unknown fields, as a publisher
 * must send it). Readers should ignore fields they do not know instead.
 */
export function protocolJsonSchema(): JsonSchema {
  const types = Object.fromEntries(
    notificationTypes.map((type) => {
      const { category, priority, actionRequired } = notificationCatalog[type];
      return [
        type,
        definition(
          publishedDataSchemas[type],
          `data of ${type}: category ${category}, default priority ${priority}${actionRequired ? ', action required' : ''}`,
        ),
      ];
    }),
  );
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'HuleEdu notification message',
    description:
      'One message on a user channel ws:<userId>: {"event", "data", "id"?}. Generated from the zod schemas of @huleedu/ws-protocol; do not edit.',
    allOf: [
      { $ref: '#/$defs/envelope' },
      ...notificationTypes.map((type) => ({
        if: { type: 'object', properties: { event: { const: type } }, required: ['event'] },
        // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword here.
        then: { type: 'object', properties: { data: { $ref: `#/$defs/${type}` } } },
      })),
    ],
    $defs: {
      envelope: definition(
        envelopeSchema,
        'The envelope every message has; extra top-level fields are allowed',
      ),
      ...types,
    },
  };
}

/** Where the package keeps the generated document, relative to the package root. */
export const JSON_SCHEMA_FILE = 'schema/notifications.schema.json';

/** The exact text of {@link JSON_SCHEMA_FILE}: two-space JSON and a final newline. */
export function protocolJsonSchemaText(): string {
  return `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`;
}

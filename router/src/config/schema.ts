/**
 * The published JSON Schema of the config file (schema/config.schema.json), built from the built-in
 * plugins' own schemas so the two cannot drift (a test compares the file with this).
 * Regenerate: node --import tsx router/src/config/schema.ts > schema/config.schema.json
 */
import { fanoutPlugin } from '../plugins/fanout.ts';
import { rewriteSchema } from '../plugins/rewrite.ts';
import { shardPlugin } from '../plugins/shard.ts';

const stringOrList = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

function pluginEntry(name: string, config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['plugin'],
    additionalProperties: false,
    properties: { plugin: { const: name }, config },
  };
}

export function configSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://zeroproxy.dev/schema/config.schema.json',
    title: 'zeroproxy router config (--config)',
    description:
      'Routes matched in order on host, path prefix, method and headers; each runs an ordered plugin chain and sends the request to a pool. No match: pool "default", least-in-flight. The dispatcher seed\'s file (top-level key/rewrites/destination) is accepted as is.',
    oneOf: [
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          routes: {
            type: 'array',
            default: [],
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                name: { type: 'string' },
                match: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    host: { ...stringOrList, description: 'host names; "*.example.com" matches subdomains' },
                    pathPrefix: { type: 'string', pattern: '^/' },
                    method: stringOrList,
                    headers: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
                  },
                },
                pool: { type: 'string', default: 'default' },
                plugins: {
                  type: 'array',
                  default: [],
                  items: {
                    oneOf: [
                      pluginEntry('shard', shardPlugin.schema),
                      pluginEntry('rewrite', rewriteSchema),
                      pluginEntry('fanout', fanoutPlugin.schema),
                      {
                        type: 'object',
                        required: ['plugin'],
                        additionalProperties: false,
                        description: 'a custom plugin: a file path (relative to the config file) whose default export is { name, schema, create }',
                        properties: { plugin: { type: 'string', pattern: '(^[./])|(\\.(ts|js|mjs|mts)$)' }, config: {} },
                      },
                    ],
                  },
                },
              },
            },
          },
        },
      },
      { ...rewriteSchema, required: ['key'], description: "the dispatcher seed's file, unchanged" },
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${JSON.stringify(configSchema(), null, 2)}\n`);

import { z } from 'zod';
import { ConfigSchema } from './schema.js';

/** JSON Schema (2020-12) of `toolgate.yaml`, for editors (`# yaml-language-server: $schema=…`). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://toolgate.dev/schema/toolgate.schema.json', title: 'toolgate configuration' };
}

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { JsonObject, Principal, ToolAnnotations, ToolDefinition, ToolResult } from '../types.js';

/** What a tool handler receives besides its arguments. */
export interface ToolContext {
  /** Aborted when the call is cancelled or times out: stop work promptly. */
  readonly signal: AbortSignal;
  /** Reports progress to the caller (a no-op when the caller did not ask for progress). */
  progress(progress: number, total?: number, message?: string): void;
  readonly principal: Principal;
  readonly correlationId: string;
  readonly log: Logger | undefined;
}

/** What a handler may return: text, a full tool result, or a JSON value (sent as structuredContent plus text). */
export type ToolReturn = string | ToolResult | JsonObject | unknown[] | number | boolean | null;

type InputOf<S> = S extends z.ZodType ? z.output<S> : JsonObject;

/** The declaration of an in-process tool. `input` is a zod schema or a JSON Schema object. */
export interface ToolSpec<S extends z.ZodType | JsonObject> {
  name: string;
  title?: string;
  description: string;
  input: S;
  output?: z.ZodType | JsonObject;
  annotations?: ToolAnnotations;
  handler: (args: InputOf<S>, ctx: ToolContext) => ToolReturn | Promise<ToolReturn>;
}

/** A tool defined with `defineTool`, ready to be served by a `local` upstream. */
export interface DefinedTool {
  readonly kind: 'toolgate.tool';
  readonly definition: Readonly<ToolDefinition>;
  /** Validates arguments; returns the parsed value or the problems as one line each. */
  readonly parse: (args: JsonObject) => { ok: true; value: unknown } | { ok: false; problems: string[] };
  readonly handler: (args: unknown, ctx: ToolContext) => ToolReturn | Promise<ToolReturn>;
}

/** Thrown by a handler to fail with a message meant for the model (shown as is, `isError: true`). */
export class ToolError extends GatewayError {
  constructor(message: string, data?: Record<string, unknown>) {
    super('TG_TOOL_FAILED', message, data === undefined ? {} : { data });
  }
}

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
let ajv: Ajv2020 | undefined;

function isZod(s: unknown): s is z.ZodType {
  return typeof s === 'object' && s !== null && typeof (s as { safeParse?: unknown }).safeParse === 'function';
}

function toJsonSchema(s: z.ZodType | JsonObject, io: 'input' | 'output'): JsonObject {
  if (!isZod(s)) return s;
  const schema = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as JsonObject;
  return schema;
}

/** Defines an in-process tool. Schemas are converted and validators compiled here, once. */
export function defineTool<S extends z.ZodType | JsonObject>(spec: ToolSpec<S>): DefinedTool {
  if (!TOOL_NAME.test(spec.name)) {
    throw new GatewayError(
      'TG_STARTUP_FAILED',
      `defineTool: invalid tool name "${spec.name}" (1–128 of A-Z a-z 0-9 _ . -)`,
    );
  }
  if (typeof spec.handler !== 'function') {
    throw new GatewayError('TG_STARTUP_FAILED', `defineTool(${spec.name}): handler must be a function`);
  }
  const inputSchema = toJsonSchema(spec.input, 'input');
  if (inputSchema['type'] !== 'object') {
    throw new GatewayError(
      'TG_STARTUP_FAILED',
      `defineTool(${spec.name}): input must describe an object (type: "object")`,
    );
  }
  const definition: ToolDefinition = { name: spec.name, description: spec.description, inputSchema };
  if (spec.title !== undefined) definition.title = spec.title;
  if (spec.output !== undefined) definition.outputSchema = toJsonSchema(spec.output, 'output');
  if (spec.annotations !== undefined) definition.annotations = { ...spec.annotations };

  let parse: DefinedTool['parse'];
  if (isZod(spec.input)) {
    const schema = spec.input;
    parse = (args) => {
      const r = schema.safeParse(args);
      if (r.success) return { ok: true, value: r.data };
      return {
        ok: false,
        problems: r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(arguments)'}: ${i.message}`),
      };
    };
  } else {
    ajv ??= new Ajv2020({ allErrors: true, strict: false, loadSchema: undefined });
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(spec.input);
    } catch (err) {
      throw new GatewayError(
        'TG_STARTUP_FAILED',
        `defineTool(${spec.name}): input schema does not compile: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    parse = (args) => {
      if (validate(args)) return { ok: true, value: args };
      return {
        ok: false,
        problems: (validate.errors ?? []).map(
          (e) =>
            `${e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(arguments)'}: ${e.message ?? 'invalid'}`,
        ),
      };
    };
  }
  return Object.freeze({
    kind: 'toolgate.tool' as const,
    definition: Object.freeze(definition),
    parse,
    handler: spec.handler as DefinedTool['handler'],
  });
}

/** True for values made by `defineTool`. */
export function isDefinedTool(v: unknown): v is DefinedTool {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'toolgate.tool';
}

/** Turns a handler's return value into a tool result. */
export function toToolResult(value: ToolReturn): ToolResult {
  if (typeof value === 'string') return { content: [{ type: 'text', text: value }] };
  if (isToolResult(value)) return value;
  if (value === undefined) return { content: [] };
  const text = JSON.stringify(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return { content: [{ type: 'text', text }], structuredContent: value };
  }
  return { content: [{ type: 'text', text }] };
}

function isToolResult(v: unknown): v is ToolResult {
  return typeof v === 'object' && v !== null && Array.isArray((v as { content?: unknown }).content);
}

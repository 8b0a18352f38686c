#!/usr/bin/env node
// toolgate's conformance fixture: an MCP server that offers every name the official conformance suite
// (@modelcontextprotocol/conformance 0.1.13, server mode) calls, with the payloads its scenario descriptions specify.
// Written from the scenario specs (src/scenarios/server/*.ts of the suite), not from the suite's example server.
//
//   node conformance/fixture-server.mjs               stdio (toolgate fronts it as a stdio upstream)
//   node conformance/fixture-server.mjs --http PORT   Streamable HTTP on 127.0.0.1:PORT/mcp (0 = any free port);
//                                                     prints "fixture listening on URL" on stderr once bound
//
// Built on the v1 SDK's low-level Server so that every payload is exactly what we write here (no schema conversion).
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const WATCHED_URI = 'test://watched-resource';
const WATCH_INTERVAL_MS = 3000;
const TEMPLATE = /^test:\/\/template\/([^/]+)\/data$/;

/** A 1×1 red PNG, assembled here (signature, IHDR, one filtered scanline in IDAT, IEND). */
function redPixelPng() {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const scanline = Buffer.from([0, 255, 0, 0]); // filter byte 0, then R G B
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(scanline)),
    chunk('IEND', Buffer.alloc(0)),
  ]).toString('base64');
}

/** A short mono 8 kHz 16-bit PCM WAV of silence (RIFF header + data). */
function silentWav(samples = 80) {
  const data = Buffer.alloc(samples * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // channels
  h.writeUInt32LE(8000, 24); // sample rate
  h.writeUInt32LE(16000, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]).toString('base64');
}

const PNG = redPixelPng();
const WAV = silentWav();

const NO_ARGS = { type: 'object', properties: {} };
const text = (t) => ({ type: 'text', text: t });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const TOOLS = [
  { name: 'test_simple_text', description: 'Returns a simple text response.', inputSchema: NO_ARGS },
  { name: 'test_image_content', description: 'Returns a 1x1 red PNG image.', inputSchema: NO_ARGS },
  { name: 'test_audio_content', description: 'Returns a short WAV audio clip.', inputSchema: NO_ARGS },
  { name: 'test_embedded_resource', description: 'Returns an embedded text resource.', inputSchema: NO_ARGS },
  {
    name: 'test_multiple_content_types',
    description: 'Returns text, image and resource content together.',
    inputSchema: NO_ARGS,
  },
  { name: 'test_tool_with_logging', description: 'Sends three info log messages while it runs.', inputSchema: NO_ARGS },
  {
    name: 'test_tool_with_progress',
    description: 'Reports progress 0/100, 50/100, 100/100 when given a progress token.',
    inputSchema: NO_ARGS,
  },
  { name: 'test_error_handling', description: 'Always fails with a tool error (isError: true).', inputSchema: NO_ARGS },
  {
    name: 'test_sampling',
    description: 'Asks the client to sample an LLM completion for the prompt.',
    inputSchema: {
      type: 'object',
      properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } },
      required: ['prompt'],
    },
  },
  {
    name: 'test_elicitation',
    description: 'Asks the client for a username and email (elicitation).',
    inputSchema: {
      type: 'object',
      properties: { message: { type: 'string', description: 'The message to show the user' } },
      required: ['message'],
    },
  },
  {
    name: 'test_elicitation_sep1034_defaults',
    description: 'Elicits a form whose fields carry default values (SEP-1034).',
    inputSchema: NO_ARGS,
  },
  {
    name: 'test_elicitation_sep1330_enums',
    description: 'Elicits a form with the five enum variants (SEP-1330).',
    inputSchema: NO_ARGS,
  },
  {
    // pending scenario json-schema-2020-12 (SEP-1613): 2020-12 keywords must survive listing
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
  },
];

const RESOURCES = [
  { uri: 'test://static-text', name: 'static-text', description: 'A static text resource.', mimeType: 'text/plain' },
  {
    uri: 'test://static-binary',
    name: 'static-binary',
    description: 'A static binary resource (PNG).',
    mimeType: 'image/png',
  },
  {
    uri: WATCHED_URI,
    name: 'watched-resource',
    description: 'A resource that changes while subscribed.',
    mimeType: 'text/plain',
  },
];

const TEMPLATES = [
  {
    uriTemplate: 'test://template/{id}/data',
    name: 'template-data',
    description: 'Data for an id.',
    mimeType: 'application/json',
  },
];

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A prompt without arguments.' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two required arguments.',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt embedding a resource.',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with an image.' },
];

const COMPLETIONS = {
  arg1: ['paris', 'park', 'party', 'test', 'testing', 'tested'],
  arg2: ['alpha', 'beta', 'gamma'],
  id: ['1', '123', '42'],
};

const SEP1034_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Your name', default: 'John Doe' },
    age: { type: 'integer', description: 'Your age', default: 30 },
    score: { type: 'number', description: 'Your score', default: 95.5 },
    status: {
      type: 'string',
      description: 'Account status',
      enum: ['active', 'inactive', 'pending'],
      default: 'active',
    },
    verified: { type: 'boolean', description: 'Verified account', default: true },
  },
};

const SEP1330_SCHEMA = {
  type: 'object',
  properties: {
    untitledSingle: { type: 'string', description: 'Pick one', enum: ['option1', 'option2', 'option3'] },
    titledSingle: {
      type: 'string',
      description: 'Pick one (titled)',
      oneOf: [
        { const: 'value1', title: 'First Option' },
        { const: 'value2', title: 'Second Option' },
        { const: 'value3', title: 'Third Option' },
      ],
    },
    legacyEnum: {
      type: 'string',
      description: 'Pick one (legacy titles)',
      enum: ['opt1', 'opt2', 'opt3'],
      enumNames: ['Option One', 'Option Two', 'Option Three'],
    },
    untitledMulti: {
      type: 'array',
      description: 'Pick several',
      items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
    },
    titledMulti: {
      type: 'array',
      description: 'Pick several (titled)',
      items: {
        anyOf: [
          { const: 'value1', title: 'First Choice' },
          { const: 'value2', title: 'Second Choice' },
          { const: 'value3', title: 'Third Choice' },
        ],
      },
    },
  },
};

/** One MCP server object per connection (stdio) or per HTTP session: subscriptions and log level are its own. */
function createFixture() {
  const server = new Server(
    { name: 'toolgate-conformance-fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: {},
        resources: { subscribe: true },
        prompts: {},
        logging: {},
        completions: {},
      },
    },
  );
  let watchTimer;
  let watchVersion = 0;
  const stopWatching = () => {
    clearInterval(watchTimer);
    watchTimer = undefined;
  };
  server.onclose = stopWatching;

  const log = async (extra, level, data) => {
    if (server.isMessageIgnored(level, extra.sessionId)) return;
    await extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'fixture', data } });
  };

  const elicit = (extra, message, requestedSchema) =>
    extra.sendRequest({ method: 'elicitation/create', params: { message, requestedSchema } }, ElicitResultSchema);

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {};
    switch (request.params.name) {
      case 'test_simple_text':
        return { content: [text('This is a simple text response for testing.')] };
      case 'test_image_content':
        return { content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] };
      case 'test_audio_content':
        return { content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] };
      case 'test_embedded_resource':
        return {
          content: [
            {
              type: 'resource',
              resource: {
                uri: 'test://embedded-resource',
                mimeType: 'text/plain',
                text: 'This is an embedded resource content.',
              },
            },
          ],
        };
      case 'test_multiple_content_types':
        return {
          content: [
            text('Multiple content types test:'),
            { type: 'image', data: PNG, mimeType: 'image/png' },
            {
              type: 'resource',
              resource: {
                uri: 'test://mixed-content-resource',
                mimeType: 'application/json',
                text: JSON.stringify({ test: 'data', value: 123 }),
              },
            },
          ],
        };
      case 'test_tool_with_logging':
        await log(extra, 'info', 'Tool execution started');
        await sleep(50);
        await log(extra, 'info', 'Tool processing data');
        await sleep(50);
        await log(extra, 'info', 'Tool execution completed');
        return { content: [text('Tool with logging executed successfully')] };
      case 'test_tool_with_progress': {
        const progressToken = request.params._meta?.progressToken;
        for (const [i, progress] of [0, 50, 100].entries()) {
          if (i > 0) await sleep(50);
          if (progressToken !== undefined) {
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress, total: 100 },
            });
          }
        }
        return { content: [text('Tool with progress executed successfully')] };
      }
      case 'json_schema_2020_12_tool':
        return { content: [text(`Received: ${JSON.stringify(args)}`)] };
      case 'test_error_handling':
        return { isError: true, content: [text('This tool intentionally returns an error for testing')] };
      case 'test_sampling': {
        const reply = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: text(String(args.prompt ?? '')) }], maxTokens: 100 },
          },
          CreateMessageResultSchema,
        );
        const content = Array.isArray(reply.content) ? reply.content[0] : reply.content;
        return {
          content: [text(`LLM response: ${content?.type === 'text' ? content.text : JSON.stringify(content)}`)],
        };
      }
      case 'test_elicitation': {
        const reply = await elicit(extra, String(args.message ?? ''), {
          type: 'object',
          properties: {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" },
          },
          required: ['username', 'email'],
        });
        return {
          content: [text(`User response: action=${reply.action}, content=${JSON.stringify(reply.content ?? {})}`)],
        };
      }
      case 'test_elicitation_sep1034_defaults':
      case 'test_elicitation_sep1330_enums': {
        const sep1034 = request.params.name === 'test_elicitation_sep1034_defaults';
        const reply = await elicit(
          extra,
          sep1034 ? 'Review the defaults' : 'Pick from the enums',
          sep1034 ? SEP1034_SCHEMA : SEP1330_SCHEMA,
        );
        return {
          content: [
            text(`Elicitation completed: action=${reply.action}, content=${JSON.stringify(reply.content ?? {})}`),
          ],
        };
      }
      default:
        throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: TEMPLATES }));

  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const { uri } = request.params;
    if (uri === 'test://static-text') {
      return { contents: [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] };
    }
    if (uri === 'test://static-binary') return { contents: [{ uri, mimeType: 'image/png', blob: PNG }] };
    if (uri === WATCHED_URI)
      return { contents: [{ uri, mimeType: 'text/plain', text: `Watched resource, version ${watchVersion}` }] };
    const m = TEMPLATE.exec(uri);
    if (m !== null) {
      const id = decodeURIComponent(m[1]);
      return {
        contents: [
          {
            uri,
            mimeType: 'application/json',
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      };
    }
    throw new McpError(ErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri });
  });

  server.setRequestHandler(SubscribeRequestSchema, (request) => {
    if (request.params.uri === WATCHED_URI && watchTimer === undefined) {
      watchTimer = setInterval(() => {
        watchVersion++;
        server.sendResourceUpdated({ uri: WATCHED_URI }).catch(() => stopWatching());
      }, WATCH_INTERVAL_MS);
      watchTimer.unref();
    }
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    if (request.params.uri === WATCHED_URI) stopWatching();
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: PROMPTS }));

  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    const args = request.params.arguments ?? {};
    switch (request.params.name) {
      case 'test_simple_prompt':
        return { messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }] };
      case 'test_prompt_with_arguments':
        return {
          messages: [
            {
              role: 'user',
              content: text(`Prompt with arguments: arg1='${args.arg1 ?? ''}', arg2='${args.arg2 ?? ''}'`),
            },
          ],
        };
      case 'test_prompt_with_embedded_resource':
        return {
          messages: [
            {
              role: 'user',
              content: {
                type: 'resource',
                resource: {
                  uri: args.resourceUri ?? 'test://example-resource',
                  mimeType: 'text/plain',
                  text: 'Embedded resource content for testing.',
                },
              },
            },
            { role: 'user', content: text('Please process the embedded resource above.') },
          ],
        };
      case 'test_prompt_with_image':
        return {
          messages: [
            { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
            { role: 'user', content: text('Please analyze the image above.') },
          ],
        };
      default:
        throw new McpError(ErrorCode.InvalidParams, `Prompt ${request.params.name} not found`);
    }
  });

  server.setRequestHandler(CompleteRequestSchema, (request) => {
    const { name, value } = request.params.argument;
    const values = (COMPLETIONS[name] ?? []).filter((v) => v.startsWith(value));
    return { completion: { values, total: values.length, hasMore: false } };
  });

  return server;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** DNS-rebinding guard: Host (and Origin, when sent) must name a loopback host. */
function loopbackOnly(req) {
  const hostname = (value) => {
    try {
      return new URL(value).hostname;
    } catch {
      return undefined;
    }
  };
  if (!LOOPBACK.has(hostname(`http://${req.headers.host ?? ''}`))) return false;
  const origin = req.headers.origin;
  return origin === undefined || LOOPBACK.has(hostname(origin));
}

function jsonError(res, status, message) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Streamable HTTP, stateful: a transport and a server object per session. */
async function serveHttp(port) {
  const sessions = new Map();
  const http = createHttpServer(async (req, res) => {
    try {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') return jsonError(res, 404, 'Not found');
      if (!loopbackOnly(req)) return jsonError(res, 403, 'Forbidden: Host/Origin is not a loopback address');
      const sid = req.headers['mcp-session-id'];
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (transport === undefined) {
        if (sid !== undefined) return jsonError(res, 404, 'Session not found');
        if (req.method !== 'POST' || body?.method !== 'initialize')
          return jsonError(res, 400, 'Bad Request: initialize first');
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => sessions.set(id, transport),
        });
        const t = transport;
        transport.onclose = () => {
          if (t.sessionId !== undefined) sessions.delete(t.sessionId);
        };
        await createFixture().connect(transport);
      }
      await transport.handleRequest(req, res, body);
    } catch (err) {
      if (!res.headersSent) jsonError(res, 400, `Bad Request: ${err.message}`);
      else res.destroy();
    }
  });
  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = http.address();
  process.stderr.write(`fixture listening on http://127.0.0.1:${bound}/mcp\n`);
  const stop = () => {
    for (const t of sessions.values()) void t.close();
    http.close();
    http.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function serveStdio() {
  const server = createFixture();
  // On stdin EOF the process ends by itself once in-flight answers are written (the watch timer is unref'd).
  await server.connect(new StdioServerTransport());
}

const i = process.argv.indexOf('--http');
if (i === -1) await serveStdio();
else {
  const port = Number(process.argv[i + 1] ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: fixture-server.mjs [--http PORT]\n');
    process.exit(2);
  }
  await serveHttp(port);
}

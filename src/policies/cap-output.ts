import type { Counter } from 'prom-client';
import { GatewayError } from '../errors.js';
import type { ContentBlock, JsonObject, Next, Policy, ToolCall, ToolResult } from '../types.js';

/** `_meta` key describing a truncation. */
export const TRUNCATION_META_KEY = 'toolgate/truncated';

/** Characters per token of the token estimate (a common rule of thumb for English text and JSON). */
export const CHARS_PER_TOKEN = 4;

/** Room kept for the marker so that the capped result, marker included, stays within the cap. */
const MARKER_RESERVE = 400;

/** Options of the cap-output policy. */
export interface CapOutputPolicyOptions {
  /** Namespaced tool name (marker text, metrics). */
  readonly toolName: string;
  /** Cap on the UTF-8 bytes of the content blocks. */
  readonly maxBytes: number;
  /** Optional cap in estimated tokens (characters / 4). */
  readonly maxTokens?: number;
  /** Config path of the setting, named in the marker. */
  readonly source?: string;
  /** Input field names that narrow the output (limit, offset, …), named in the marker. */
  readonly narrowingFields?: readonly string[];
  readonly counter?: Counter<'tool'>;
}

/** Input fields whose name says they bound or page the output. */
const NARROWING =
  /^(limit|max[_-]?\w*|top|count|n|page[_-]?size|per[_-]?page|offset|page|cursor|start|end|lines?|length|fields|depth)$/i;

/** Names of the input fields that narrow a tool's output, from its input schema (for the truncation hint). */
export function narrowingFields(inputSchema: JsonObject | undefined): string[] {
  const props = inputSchema?.['properties'];
  if (typeof props !== 'object' || props === null) return [];
  return Object.keys(props)
    .filter((k) => NARROWING.test(k))
    .slice(0, 4);
}

interface Measured {
  block: ContentBlock;
  bytes: number;
  chars: number;
  text?: string;
}

/**
 * Caps the size of a result's content so one answer cannot flood the model's context. A cheap upper bound decides
 * first (3 bytes per UTF-16 unit at most), so ordinary results cost one pass over their block lengths. Over the cap,
 * text is cut at a character boundary, blocks past the cut are dropped, and a marker block says how much was cut and
 * how to ask for less. `structuredContent` is never cut (cutting JSON breaks its schema).
 */
export function createCapOutputPolicy(options: CapOutputPolicyOptions): Policy {
  const { toolName, maxBytes, maxTokens, source, counter } = options;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0)
    throw new GatewayError(
      'TG_CONFIG_INVALID',
      `output cap: maxBytes must be a positive integer, got ${String(maxBytes)}`,
    );
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens <= 0)) {
    throw new GatewayError(
      'TG_CONFIG_INVALID',
      `output cap: maxTokens must be a positive integer, got ${String(maxTokens)}`,
    );
  }
  const maxChars = maxTokens === undefined ? Number.POSITIVE_INFINITY : maxTokens * CHARS_PER_TOKEN;
  const fields = options.narrowingFields ?? [];
  const howToNarrow =
    fields.length > 0
      ? `call "${toolName}" again with ${fields.map((f) => `\`${f}\``).join(' / ')} set to ask for less, or with a narrower request`
      : `call "${toolName}" again with a narrower request (fewer items, a smaller range, a more specific query)`;
  const limitText = `${formatBytes(maxBytes)}${maxTokens === undefined ? '' : ` or ~${maxTokens} tokens`}${source === undefined ? '' : `, ${source}`}`;

  const cap = (result: ToolResult): ToolResult => {
    const measured: Measured[] = result.content.map(measure);
    let totalBytes = 0;
    let totalChars = 0;
    for (const m of measured) {
      totalBytes += m.bytes;
      totalChars += m.chars;
    }
    if (totalBytes <= maxBytes && totalChars <= maxChars) return result;
    let bytesLeft = Math.max(0, maxBytes > 2 * MARKER_RESERVE ? maxBytes - MARKER_RESERVE : Math.floor(maxBytes / 2));
    let charsLeft = maxChars === Number.POSITIVE_INFINITY ? maxChars : Math.max(0, maxChars - MARKER_RESERVE);
    const kept: ContentBlock[] = [];
    let keptBytes = 0;
    for (const m of measured) {
      if (m.bytes <= bytesLeft && m.chars <= charsLeft) {
        kept.push(m.block);
        keptBytes += m.bytes;
        bytesLeft -= m.bytes;
        charsLeft -= m.chars;
        continue;
      }
      if (m.text !== undefined && bytesLeft > 0 && charsLeft > 0) {
        const piece = cutText(m.text, bytesLeft, charsLeft);
        if (piece.length > 0) {
          kept.push({ ...m.block, text: piece });
          keptBytes += Buffer.byteLength(piece);
        }
      }
      break; // everything after the cut is dropped: a later block out of context would mislead
    }
    const cut = totalBytes - keptBytes;
    counter?.inc({ tool: toolName });
    kept.push({
      type: 'text',
      text: `[toolgate: output truncated — ${formatBytes(cut)} of ${formatBytes(totalBytes)} cut (limit ${limitText}). To get the rest, ${howToNarrow}.]`,
    });
    const note: JsonObject = { originalBytes: totalBytes, keptBytes, limitBytes: maxBytes };
    if (maxTokens !== undefined) note['limitTokens'] = maxTokens;
    return { ...result, content: kept, _meta: { ...result._meta, [TRUNCATION_META_KEY]: note } };
  };

  return async function capOutputPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    const result = await next(call);
    const content = result.content;
    if (!Array.isArray(content)) return result; // an input_required result has no content
    let chars = 0;
    for (const block of content) chars += roughLength(block);
    if (chars * 3 <= maxBytes && chars <= maxChars) return result;
    return cap(result);
  };
}

/** Length in UTF-16 units of what a block carries (text, base64 data, embedded resource). */
function roughLength(block: ContentBlock): number {
  if (typeof block['text'] === 'string') return block['text'].length;
  if (typeof block['data'] === 'string') return block['data'].length;
  const r = block['resource'];
  if (typeof r === 'object' && r !== null) {
    const res = r as JsonObject;
    return (
      (typeof res['text'] === 'string' ? res['text'].length : 0) +
      (typeof res['blob'] === 'string' ? res['blob'].length : 0)
    );
  }
  return 0;
}

function measure(block: ContentBlock): Measured {
  if (block.type === 'text' && typeof block['text'] === 'string') {
    const text = block['text'];
    return { block, bytes: Buffer.byteLength(text), chars: text.length, text };
  }
  const n = roughLength(block); // base64 and most resource text are ASCII-sized; exactness matters only for text
  return { block, bytes: n, chars: n };
}

/** The longest prefix of `text` within both limits, never splitting a character. */
export function cutText(text: string, maxBytes: number, maxChars: number): string {
  let end = Math.min(text.length, maxChars);
  if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
  const piece = text.slice(0, end);
  if (Buffer.byteLength(piece) <= maxBytes) return piece;
  const buf = Buffer.from(piece, 'utf8');
  let cutAt = maxBytes;
  // Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx) so no character is split.
  while (cutAt > 0 && ((buf[cutAt] ?? 0) & 0xc0) === 0x80) cutAt--;
  return buf.subarray(0, cutAt).toString('utf8');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** "512 bytes", "3.4 KB", "1.2 MB" (1 KB = 1024 bytes). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1024 * 1024) return `${Math.round((n / 1024) * 10) / 10} KB`;
  return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
}

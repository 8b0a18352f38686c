import type { Redactor } from '../security/redactor.js';
import type { ContentBlock, Next, Policy, ToolCall, ToolResult } from '../types.js';

/** Options of the redact policy. */
export interface RedactPolicyOptions {
  toolName: string;
  redactor: Redactor;
  mode: 'mask' | 'hash' | 'block' | 'off';
}

/**
 * Removes secrets and PII from a tool's result before the client sees it: text blocks, embedded resource text and
 * `structuredContent`. `mask`/`hash` replace each finding with a marker naming its kind; `block` refuses the
 * whole result with `TG_OUTPUT_BLOCKED` (naming the kinds found). Images and audio pass untouched. `off` adds
 * nothing to the chain.
 */
export function createRedactPolicy(options: RedactPolicyOptions): Policy | undefined {
  const { redactor, toolName, mode } = options;
  if (mode === 'off') return undefined;
  const replaceMode = mode === 'hash' ? 'hash' : 'mask';

  const redactBlock = (b: ContentBlock, kinds: string[]): ContentBlock => {
    if (b.type === 'text' && typeof b['text'] === 'string') {
      const r = redactor.redactText(b['text'], replaceMode, 'result');
      if (r.kinds.length === 0) return b;
      kinds.push(...r.kinds);
      return { ...b, text: r.value };
    }
    if (b.type === 'resource' && typeof b['resource'] === 'object' && b['resource'] !== null) {
      const r = redactor.redactValue(b['resource'], replaceMode, 'result');
      if (r.kinds.length === 0) return b;
      kinds.push(...r.kinds);
      return { ...b, resource: r.value };
    }
    return b;
  };

  const redactResult = (call: ToolCall, result: ToolResult): ToolResult => {
    if (!Array.isArray(result.content)) return result;
    const kinds: string[] = [];
    let content: ContentBlock[] | undefined;
    for (let i = 0; i < result.content.length; i++) {
      const b = result.content[i] as ContentBlock;
      const r = redactBlock(b, kinds);
      if (r !== b) (content ??= result.content.slice())[i] = r;
    }
    let structured = result.structuredContent;
    if (structured !== undefined) {
      const r = redactor.redactValue(structured, replaceMode, 'result');
      if (r.kinds.length > 0) {
        kinds.push(...r.kinds);
        structured = r.value;
      }
    }
    if (kinds.length === 0) return result;
    if (mode === 'block') throw redactor.blocked(toolName, kinds);
    call.log.info({ kinds: [...new Set(kinds)], count: kinds.length }, 'redacted the tool result');
    const out: ToolResult = { ...result, content: content ?? result.content };
    if (structured !== undefined) out.structuredContent = structured;
    return out;
  };

  // Promise callbacks rather than an async function: this wraps every call of the tool.
  return function redactPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    return next(call).then((result) => redactResult(call, result));
  };
}

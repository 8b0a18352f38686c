import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import type { JsonObject } from '../jsonrpc/types.js';
import type { CheckContext, Tool } from './context.js';
import { isPlainObject } from './target.js';

/** Zero-width, bidi controls, invisible operators, BOM, soft hyphen, other C0/C1 controls (tab/newline allowed). */
const HIDDEN =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this pattern hunts for
  /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\uDB40[\uDC00-\uDC7F]/g;

/** Instruction-like phrases aimed at the model rather than describing the tool. */
export const INSTRUCTION_PATTERNS: readonly [string, RegExp][] = [
  [
    'override of prior instructions',
    /\b(ignore|disregard|forget|override)\b[^.\n]{0,30}\b(previous|prior|above|earlier|other|system)\b[^.\n]{0,20}\b(instructions?|prompts?|rules?|messages?)\b/i,
  ],
  [
    'concealment from the user',
    /\b(do not|don't|never|without)\b[^.\n]{0,20}\b(tell|telling|inform|informing|mention|mentioning|reveal|revealing|show|showing|notify|notifying|asking)\b[^.\n]{0,15}\b(the )?user\b/i,
  ],
  ['hidden-instruction tags', /<\s*\/?\s*(important|system|instructions?|secret|hidden)\s*>/i],
  [
    'request for secrets',
    /\b(read|cat|open|send|upload|include|pass|attach|forward)\b[^.\n]{0,40}(~\/\.ssh|id_rsa|\.env\b|\.aws\/credentials|credentials|api[ _-]?keys?|private key|passwords?|secrets?)/i,
  ],
  ['claims authority over the model', /\b(you are now|act as|new instructions|system prompt)\b/i],
  [
    'exfiltration',
    /\b(send|post|upload|forward|exfiltrate)\b[^.\n]{0,40}\b(to|at)\b[^.\n]{0,10}(https?:\/\/|\b\S+@\S+\.\w+)/i,
  ],
];

const BASE64_BLOB = /[A-Za-z0-9+/]{60,}={0,2}/;
const HEX_BLOB = /\b(?:[0-9a-fA-F]{2}){32,}\b/;

/** Every string in a JSON value with its path (bounded). */
function strings(v: unknown, path: string, out: [string, string][], depth = 0): [string, string][] {
  if (depth > 12 || out.length > 5000) return out;
  if (typeof v === 'string') out.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, `${path}[${i}]`, out, depth + 1));
  else if (isPlainObject(v))
    for (const [k, x] of Object.entries(v)) {
      strings(k, `${path}.${k} (key)`, out, depth + 1);
      strings(x, `${path}.${k}`, out, depth + 1);
    }
  return out;
}

/** Names the hidden characters in a string, decoding Unicode tag characters (which can spell ASCII text). */
export function hiddenCharacters(s: string): { count: number; codes: string[]; decodedTags: string } | undefined {
  const found = s.match(HIDDEN);
  if (found === null) return undefined;
  const codes = [
    ...new Set(found.map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`)),
  ];
  let decodedTags = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xe0020 && cp <= 0xe007e) decodedTags += String.fromCharCode(cp - 0xe0000);
  }
  return { count: found.length, codes, decodedTags };
}

/** The metadata a model reads, per subject: tools (all strings), prompts, resources, server instructions. */
function subjects(ctx: CheckContext): { subject: string; fields: [string, string][] }[] {
  const out = ctx.tools.map((t) => ({ subject: `tool ${t.name}`, fields: strings(t, t.name, []) }));
  for (const p of ctx.prompts)
    out.push({ subject: `prompt ${String(p['name'])}`, fields: strings(p, String(p['name']), []) });
  for (const r of ctx.resources)
    out.push({
      subject: `resource ${String(r['uri'])}`,
      fields: strings({ name: r['name'], description: r['description'] }, String(r['uri']), []),
    });
  const instructions = ctx.target.identity.instructions;
  if (instructions !== undefined)
    out.push({ subject: 'server instructions', fields: [['instructions', instructions]] });
  return out;
}

/** A stable fingerprint of a tool: name, description, schemas and annotations (keys sorted). */
export function toolFingerprint(tool: Tool): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : isPlainObject(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical(v[k])]),
          )
        : v;
  const picked = {
    name: tool.name,
    title: tool['title'],
    description: tool['description'],
    inputSchema: tool['inputSchema'],
    outputSchema: tool['outputSchema'],
    annotations: tool['annotations'],
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(picked)))
    .digest('hex');
}

/** The pin file format. */
export interface PinFile {
  version: 1;
  server?: string;
  tools: Record<string, string>;
}

function readPins(file: string): PinFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GatewayError(
      'TG_CLI_USAGE',
      `--pin ${file} is not a readable JSON pin file: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!isPlainObject(parsed) || parsed['version'] !== 1 || !isPlainObject(parsed['tools'])) {
    throw new GatewayError(
      'TG_CLI_USAGE',
      `--pin ${file} is not a toolgate pin file (expected {"version":1,"tools":{…}})`,
    );
  }
  return parsed as unknown as PinFile;
}

/** Writes the pin file for the current tool list. */
export function writePins(file: string, ctx: CheckContext): void {
  const pins: PinFile = { version: 1, tools: Object.fromEntries(ctx.tools.map((t) => [t.name, toolFingerprint(t)])) };
  if (ctx.target.identity.name !== undefined) pins.server = ctx.target.identity.name;
  writeFileSync(file, JSON.stringify(pins, null, 2) + '\n');
}

/** Tool-poisoning checks J1–J5. */
export async function runPoisoningChecks(ctx: CheckContext): Promise<void> {
  const subs = subjects(ctx);

  await ctx.check('TG-CHK-J1', () => {
    for (const { subject, fields } of subs) {
      for (const [path, text] of fields) {
        const h = hiddenCharacters(text);
        if (h === undefined) continue;
        const decoded =
          h.decodedTags.length > 0 ? `; tag characters spell ${JSON.stringify(h.decodedTags.slice(0, 120))}` : '';
        ctx.fail('TG-CHK-J1', {
          subject,
          evidence: `${path}: ${h.count} hidden character(s) ${h.codes.slice(0, 6).join(' ')}${decoded}`,
        });
        break;
      }
    }
  });

  await ctx.check('TG-CHK-J2', () => {
    for (const { subject, fields } of subs) {
      for (const [path, text] of fields) {
        const hit = INSTRUCTION_PATTERNS.find(([, re]) => re.test(text));
        if (hit === undefined) continue;
        const m = hit[1].exec(text);
        ctx.fail('TG-CHK-J2', {
          subject,
          evidence: `${path}: ${hit[0]} — ${JSON.stringify(m?.[0].slice(0, 120) ?? '')}`,
        });
        break;
      }
    }
  });

  await ctx.check('TG-CHK-J3', () => {
    for (const { subject, fields } of subs) {
      for (const [path, text] of fields) {
        const m = BASE64_BLOB.exec(text) ?? HEX_BLOB.exec(text);
        if (m === null) continue;
        let decoded = '';
        if (BASE64_BLOB.test(m[0])) {
          const d = Buffer.from(m[0], 'base64').toString('utf8');
          if (/^[\x20-\x7e\s]{8,}$/.test(d.slice(0, 60))) decoded = `; decodes to ${JSON.stringify(d.slice(0, 60))}`;
        }
        ctx.fail('TG-CHK-J3', {
          subject,
          evidence: `${path}: encoded blob of ${m[0].length} characters ${JSON.stringify(m[0].slice(0, 24) + '…')}${decoded}`,
        });
        break;
      }
    }
  });

  await ctx.check('TG-CHK-J4', () => {
    // Only distinctive names: single common words ("echo", "search") would match ordinary prose.
    const names = ctx.tools.map((t) => t.name).filter((n) => n.length >= 5 && /[_\-.A-Z]/.test(n));
    for (const t of ctx.tools) {
      const d = typeof t['description'] === 'string' ? t['description'] : '';
      const other = names.find(
        (n) => n !== t.name && new RegExp(`(^|[^A-Za-z0-9_.-])${escapeRe(n)}($|[^A-Za-z0-9_-])`).test(d),
      );
      if (other !== undefined)
        ctx.fail('TG-CHK-J4', {
          subject: t.name,
          evidence: `the description of "${t.name}" refers to tool "${other}"`,
        });
    }
  });

  const pinFile = ctx.options.pinFile;
  await ctx.check(
    'TG-CHK-J5',
    () => {
      if (pinFile === undefined) return;
      if (!existsSync(pinFile)) {
        writePins(pinFile, ctx);
        ctx.notes.push(`pinned ${ctx.tools.length} tool fingerprints to ${pinFile}`);
        ctx.skipCheck('TG-CHK-J5', `no pin file yet: recorded ${ctx.tools.length} tools to ${pinFile}`);
        return;
      }
      const pins = readPins(pinFile);
      const current = new Map(ctx.tools.map((t) => [t.name, toolFingerprint(t)]));
      for (const [name, fp] of current) {
        const pinned = pins.tools[name];
        if (pinned === undefined)
          ctx.fail('TG-CHK-J5', {
            subject: `${name} added`,
            severity: 'medium',
            evidence: `tool "${name}" is new since the pin (${pinFile})`,
          });
        else if (pinned !== fp)
          ctx.fail('TG-CHK-J5', {
            subject: `${name} changed`,
            evidence: `the definition of "${name}" changed since the pin (${pinFile}): ${pinned.slice(0, 12)} → ${fp.slice(0, 12)}`,
          });
      }
      for (const name of Object.keys(pins.tools)) {
        if (!current.has(name))
          ctx.fail('TG-CHK-J5', {
            subject: `${name} removed`,
            severity: 'low',
            evidence: `pinned tool "${name}" is gone`,
          });
      }
      if (ctx.options.pinUpdate) {
        writePins(pinFile, ctx);
        ctx.notes.push(`pin file ${pinFile} updated`);
      }
    },
    pinFile === undefined ? 'no --pin file given' : undefined,
  );
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type { JsonObject };

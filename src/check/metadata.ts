import { brief, nameSuggestsDeletion, splitWords, succeeded, type CheckContext, type Tool } from './context.js';
import { properties } from './inputs.js';
import { isPlainObject } from './target.js';

/** Seed 000 limits for tool descriptions. */
export const DESCRIPTION_WARN_CHARS = 500;
export const DESCRIPTION_ALERT_CHARS = 1000;
/** Seed 000: unbounded tool sets start at 50 tools. */
export const MAX_TOOLS = 50;
/** Cosine similarity above which two tools count as near-duplicates. */
export const DUPLICATE_SIMILARITY = 0.85;

const NAME_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const MODIFYING =
  /(^| )(write|overwrite|update|set|put|patch|move|rename|create|insert|upload|send|post|edit|modify|replace|append|save|toggle)( |$)/;

/** The naming convention of one tool name, or undefined when a single word fits every convention. */
export function convention(
  name: string,
): 'snake_case' | 'kebab-case' | 'camelCase' | 'PascalCase' | 'dotted' | 'mixed' | undefined {
  const hasUnderscore = name.includes('_');
  const hasDash = name.includes('-');
  const hasDot = name.includes('.');
  const hasUpper = /[A-Z]/.test(name);
  const seps = [hasUnderscore, hasDash, hasDot].filter(Boolean).length;
  if (seps > 1 || (seps === 1 && hasUpper)) return 'mixed';
  if (hasUnderscore) return 'snake_case';
  if (hasDash) return 'kebab-case';
  if (hasDot) return 'dotted';
  if (hasUpper) return /^[A-Z]/.test(name) ? 'PascalCase' : 'camelCase';
  return undefined;
}

const STOP = new Set(
  'a an and are as at be by for from in is it of on or that the this to with will your you can its into use'.split(' '),
);

function termVector(tool: Tool): Map<string, number> {
  const desc = typeof tool['description'] === 'string' ? tool['description'] : '';
  const words = [...splitWords(tool.name), ...desc.toLowerCase().split(/[^a-z0-9]+/)].filter(
    (w) => w.length > 1 && !STOP.has(w),
  );
  const v = new Map<string, number>();
  for (const w of words) v.set(w, (v.get(w) ?? 0) + 1);
  return v;
}

/** Cosine similarity of two term vectors. */
export function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [k, x] of a) {
    na += x * x;
    dot += x * (b.get(k) ?? 0);
  }
  for (const y of b.values()) nb += y * y;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Tool metadata checks E1–E7. */
export async function runMetadataChecks(ctx: CheckContext): Promise<void> {
  const tools = ctx.tools;
  const noTools = tools.length === 0 ? 'the server lists no tools' : undefined;

  await ctx.check(
    'TG-CHK-E1',
    () => {
      const seen = new Set<string>();
      for (const t of tools) {
        if (!NAME_RE.test(t.name))
          ctx.fail('TG-CHK-E1', {
            subject: t.name,
            evidence: `name ${JSON.stringify(t.name)} is not 1–128 characters of [A-Za-z0-9_.-]`,
          });
        if (seen.has(t.name))
          ctx.fail('TG-CHK-E1', { subject: `${t.name} duplicate`, evidence: `two tools are named "${t.name}"` });
        seen.add(t.name);
      }
      const byConvention = new Map<string, string[]>();
      for (const t of tools) {
        const c = convention(t.name);
        if (c !== undefined) byConvention.set(c, [...(byConvention.get(c) ?? []), t.name]);
      }
      if (byConvention.size > 1) {
        const parts = [...byConvention.entries()].map(
          ([c, names]) => `${c}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` (+${names.length - 3})` : ''}`,
        );
        ctx.fail('TG-CHK-E1', {
          subject: 'convention',
          severity: 'low',
          evidence: `tool names mix conventions — ${parts.join('; ')}`,
        });
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-E2',
    () => {
      for (const t of tools) {
        const d = t['description'];
        if (typeof d !== 'string' || d.trim().length === 0) {
          ctx.fail('TG-CHK-E2', { subject: t.name, evidence: `"${t.name}" has no description` });
        } else if (d.length > DESCRIPTION_ALERT_CHARS) {
          ctx.fail('TG-CHK-E2', {
            subject: t.name,
            evidence: `"${t.name}" description is ${d.length} characters (alert above ${DESCRIPTION_ALERT_CHARS})`,
          });
        } else if (d.length > DESCRIPTION_WARN_CHARS) {
          ctx.fail('TG-CHK-E2', {
            subject: t.name,
            severity: 'low',
            evidence: `"${t.name}" description is ${d.length} characters (warning above ${DESCRIPTION_WARN_CHARS})`,
          });
        }
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-E3',
    () => {
      let total = 0;
      let described = 0;
      for (const t of tools) {
        const props = properties(t['inputSchema']);
        const missing = props
          .filter(([, p]) => typeof p['description'] !== 'string' || p['description'].trim() === '')
          .map(([k]) => k);
        total += props.length;
        described += props.length - missing.length;
        if (missing.length > 0)
          ctx.fail('TG-CHK-E3', {
            subject: t.name,
            evidence: `"${t.name}": ${missing.length} of ${props.length} parameters undocumented (${missing.join(', ')})`,
          });
      }
      ctx.measurements['parameter description coverage'] =
        total === 0 ? '100%' : `${Math.round((described / total) * 100)}% (${described}/${total})`;
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-E4',
    () => {
      for (const t of tools) {
        const a = t['annotations'];
        const words = splitWords(t.name).join(' ');
        if (!isPlainObject(a)) {
          ctx.fail('TG-CHK-E4', {
            subject: t.name,
            severity: 'low',
            evidence: `"${t.name}" has no annotations (clients must assume it is destructive and open-world)`,
          });
          continue;
        }
        if (nameSuggestsDeletion(t.name) && a['destructiveHint'] !== true) {
          ctx.fail('TG-CHK-E4', {
            subject: t.name,
            evidence: `"${t.name}" sounds destructive but declares destructiveHint: ${brief(a['destructiveHint'])}`,
          });
        } else if (a['readOnlyHint'] === true && (MODIFYING.test(words) || nameSuggestsDeletion(t.name))) {
          ctx.fail('TG-CHK-E4', {
            subject: t.name,
            evidence: `"${t.name}" sounds like it changes state but declares readOnlyHint: true`,
          });
        } else if (a['readOnlyHint'] === true && a['destructiveHint'] === true) {
          ctx.fail('TG-CHK-E4', {
            subject: t.name,
            evidence: `"${t.name}" declares both readOnlyHint and destructiveHint`,
          });
        }
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-E5',
    () => {
      for (const t of tools) {
        if (isPlainObject(t['outputSchema'])) continue;
        const calls = ctx.calls.filter((c) => c.tool === t.name && succeeded(c));
        const structured = calls.find((c) => c.result?.['structuredContent'] !== undefined);
        const jsonText = calls.find((c) => {
          const content = c.result?.['content'];
          if (!Array.isArray(content) || content.length !== 1) return false;
          const first: unknown = content[0];
          if (!isPlainObject(first) || typeof first['text'] !== 'string') return false;
          const text = first['text'].trim();
          if (!text.startsWith('{') && !text.startsWith('[')) return false;
          try {
            JSON.parse(text);
            return true;
          } catch {
            return false;
          }
        });
        if (structured !== undefined) {
          ctx.fail('TG-CHK-E5', {
            subject: t.name,
            evidence: `"${t.name}" returns structuredContent but declares no outputSchema`,
          });
        } else if (jsonText !== undefined) {
          ctx.fail('TG-CHK-E5', {
            subject: t.name,
            evidence: `"${t.name}" returns JSON as text (${brief(jsonText.result?.['content'], 80)}) without an outputSchema`,
          });
        }
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-E6',
    () => {
      const vectors = tools.map((t) => [t, termVector(t)] as const);
      // Each tool is reported once, against the first tool it duplicates (a cluster of ten is ten findings, not 45).
      const reported = new Set<string>();
      for (let i = 0; i < vectors.length && reported.size < 30; i++) {
        const [a, va] = vectors[i] as (typeof vectors)[number];
        if (reported.has(a.name)) continue;
        for (let j = i + 1; j < vectors.length && reported.size < 30; j++) {
          const [b, vb] = vectors[j] as (typeof vectors)[number];
          if (reported.has(b.name)) continue;
          const sim = cosine(va, vb);
          if (sim >= DUPLICATE_SIMILARITY) {
            reported.add(b.name);
            ctx.fail('TG-CHK-E6', {
              subject: b.name,
              evidence: `"${a.name}" and "${b.name}" are ${Math.round(sim * 100)}% similar in name and description`,
            });
          }
        }
      }
    },
    tools.length < 2 ? 'fewer than two tools' : undefined,
  );

  await ctx.check('TG-CHK-E7', () => {
    if (tools.length > MAX_TOOLS) {
      ctx.fail('TG-CHK-E7', {
        evidence: `${tools.length} tools exposed at once (seed 000 pitfall: more than ${MAX_TOOLS}); tool selection accuracy degrades past 30–50 tools`,
      });
    }
  });
}

import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { CheckContext } from './context.js';

/** The tokenizer used for token counts (named in every report). */
export const TOKENIZER = 'o200k_base (gpt-tokenizer)';
/** Context windows the budget is expressed against. */
export const WINDOWS = [128_000, 200_000] as const;
/** Seed 000: tool descriptions ≤ 10–15% of the context window. */
export const BUDGET_WARN_SHARE = 0.1;
export const BUDGET_ALERT_SHARE = 0.15;
/** One tool above this many tokens is a finding. */
export const HEAVY_TOOL_TOKENS = 1500;

/** Token cost checks G1–G2: the tool list as a model sees it (JSON of each definition). */
export async function runTokenChecks(ctx: CheckContext): Promise<void> {
  const perTool = ctx.tools.map((t) => ({ name: t.name, tokens: countTokens(JSON.stringify(t)) }));
  const total = perTool.reduce((s, t) => s + t.tokens, 0);
  const window = WINDOWS[0];
  if (ctx.tools.length > 0) {
    ctx.measurements['tokenizer'] = TOKENIZER;
    ctx.measurements['tools/list tokens'] = total;
    for (const w of WINDOWS) ctx.measurements[`share of ${w / 1000}k window`] = `${((total / w) * 100).toFixed(1)}%`;
    const heaviest = [...perTool].sort((a, b) => b.tokens - a.tokens).slice(0, 3);
    ctx.measurements['heaviest tools'] = heaviest.map((t) => `${t.name} ${t.tokens}`).join(', ');
  }
  const noTools = ctx.tools.length === 0 ? 'the server lists no tools' : undefined;

  await ctx.check(
    'TG-CHK-G1',
    () => {
      const share = total / window;
      if (share > BUDGET_ALERT_SHARE) {
        ctx.fail('TG-CHK-G1', {
          evidence: `tools/list costs ${total} tokens (${TOKENIZER}): ${(share * 100).toFixed(1)}% of a 128k window (alert above 15%)`,
        });
      } else if (share > BUDGET_WARN_SHARE) {
        ctx.fail('TG-CHK-G1', {
          severity: 'low',
          evidence: `tools/list costs ${total} tokens (${TOKENIZER}): ${(share * 100).toFixed(1)}% of a 128k window (warning above 10%)`,
        });
      }
    },
    noTools,
  );

  await ctx.check(
    'TG-CHK-G2',
    () => {
      for (const t of perTool) {
        if (t.tokens > HEAVY_TOOL_TOKENS)
          ctx.fail('TG-CHK-G2', {
            subject: t.name,
            evidence: `"${t.name}" costs ${t.tokens} tokens (${TOKENIZER}), over ${HEAVY_TOOL_TOKENS}`,
          });
      }
    },
    noTools,
  );
}

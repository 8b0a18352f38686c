import type { RateLimitSettings } from '../config/security.js';
import { GatewayError } from '../errors.js';
import { parseRate, type BucketTake, type LimiterStore, type Rate, type TakeResult } from '../security/rate-limiter.js';
import type { Next, Policy, Principal, ToolCall, ToolResult } from '../types.js';
import { formatDelay } from './tool-error.js';

/** Options of the rate-limit policy. */
export interface RateLimitPolicyOptions {
  toolName: string;
  limiter: LimiterStore;
  /** The tool's merged `rateLimit` settings. */
  settings: RateLimitSettings | undefined;
  /** Config path of the tool's `rateLimit` setting (for messages). */
  source?: string;
  /** `rateLimits.perPrincipal`: the principal-wide bucket every tool call takes `cost` from. */
  perPrincipal?: string;
}

interface Template {
  readonly rate: Rate;
  readonly scope: 'principal' | 'caller' | 'tool';
  readonly source: string;
}

/** The key of a principal in bucket names: method and subject (an API key id cannot pose as a token subject). */
export function principalKey(p: Principal): string {
  return `${p.authMethod}:${p.subject}`;
}

/**
 * Token buckets around a tool: per principal (all tools), per principal × tool, and per tool (all callers), each
 * call taking `cost` tokens from every bucket at once or from none. A limited call gets `TG_RATE_LIMITED`, an
 * isError result telling the model which limit it hit and when it may retry. Returns undefined when no limit
 * applies to the tool (nothing is added to its chain).
 */
export function createRateLimitPolicy(options: RateLimitPolicyOptions): Policy | undefined {
  const { toolName, limiter, settings } = options;
  const cost = settings?.cost ?? 1;
  const source = options.source ?? 'rateLimit';
  const templates: Template[] = [];
  if (options.perPrincipal !== undefined)
    templates.push({ rate: parseRate(options.perPrincipal), scope: 'principal', source: 'rateLimits.perPrincipal' });
  if (settings?.perCaller !== undefined)
    templates.push({ rate: parseRate(settings.perCaller), scope: 'caller', source: `${source}.perCaller` });
  if (settings?.perTool !== undefined)
    templates.push({ rate: parseRate(settings.perTool), scope: 'tool', source: `${source}.perTool` });
  if (templates.length === 0 || cost === 0) return undefined;
  for (const t of templates) {
    if (cost > t.rate.capacity) {
      throw new GatewayError(
        'TG_CONFIG_INVALID',
        `${source}.cost (${cost}) of "${toolName}" exceeds the ${t.source} capacity (${t.rate.text}): no call could ever pass`,
      );
    }
  }
  const toolKey = `t:${toolName}`;
  const callerPrefix = `c:${toolName}:`;

  const refused = (r: TakeResult & { ok: false }): GatewayError => {
    const t = templates[r.index] as Template;
    const who =
      t.scope === 'principal'
        ? 'per caller across all tools'
        : t.scope === 'caller'
          ? `per caller for "${toolName}"`
          : `for all callers of "${toolName}"`;
    return new GatewayError(
      'TG_RATE_LIMITED',
      `Rate limit reached: at most ${t.rate.text} ${who}${cost > 1 ? ` (this tool costs ${cost} per call)` : ''}. You may retry in ${formatDelay(r.retryAfterMs)}; do not retry sooner.`,
      { retryAfterMs: r.retryAfterMs, data: { limit: t.rate.text, scope: t.scope, source: t.source } },
    );
  };

  // The buckets of a principal, made on its first call: authentication hands out the same (frozen) principal
  // object while its credential stays cached, so a steady caller allocates no bucket keys per call.
  const takesOf = new WeakMap<Principal, readonly BucketTake[]>();
  const bucketsOf = (p: Principal): readonly BucketTake[] => {
    let takes = takesOf.get(p);
    if (takes === undefined) {
      const who = principalKey(p);
      takes = templates.map((t) => ({
        key: t.scope === 'principal' ? `p:${who}` : t.scope === 'caller' ? callerPrefix + who : toolKey,
        rate: t.rate,
        cost,
      }));
      takesOf.set(p, takes);
    }
    return takes;
  };
  const decide = (r: TakeResult, call: ToolCall, next: Next): Promise<ToolResult> =>
    r.ok ? next(call) : Promise.reject(refused(r));

  return function rateLimitPolicy(call: ToolCall, next: Next): Promise<ToolResult> {
    // The memory limiter answers synchronously: no extra promise turn per call. (A throw from it becomes a
    // rejection in the composed chain.)
    const r = limiter.take(bucketsOf(call.principal));
    return r instanceof Promise ? r.then((x) => decide(x, call, next)) : decide(r, call, next);
  };
}

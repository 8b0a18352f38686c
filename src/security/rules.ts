import { bearerChallenge } from '../auth/resource-metadata.js';
import { compileGlob, type NameMatcher } from '../catalog/glob.js';
import type { AuthorizationConfig, PrincipalCondition } from '../config/security.js';
import { GatewayError } from '../errors.js';
import type { Authorizer } from '../protocol/dispatcher.js';
import type { Principal, ToolEntry } from '../types.js';

/** What a rule can name. */
export type ItemKind = 'tool' | 'prompt' | 'resource';

/** The decision about one item for one principal. */
export interface Decision {
  readonly allowed: boolean;
  /**
   * When denied but the caller would be allowed with more scopes: every scope the closest allow rule needs
   * (the ones the caller lacks are `missingScopes`). Absent when the denial must not be explained.
   */
  readonly requiredScopes?: readonly string[];
  readonly missingScopes?: readonly string[];
}

interface CompiledRule {
  readonly effect: 'allow' | 'deny';
  readonly matchers: Readonly<Record<ItemKind, readonly NameMatcher[]>>;
  readonly scopes: readonly string[];
  /** The condition without its scopes (identity: roles, subjects, claims, methods). */
  readonly identity: (p: Principal) => boolean;
}

interface PrincipalCache {
  readonly scopes: ReadonlySet<string>;
  readonly tool: Map<string, Decision>;
  readonly prompt: Map<string, Decision>;
  readonly resource: Map<string, Decision>;
}

const ALLOW: Decision = Object.freeze({ allowed: true });
const DENY: Decision = Object.freeze({ allowed: false });
/** Names whose matching rules are cached (tool and prompt names are bounded; URIs from requests are not). */
const MAX_CACHED_NAMES = 10_000;

/** Options of `createRuleSet`. */
export interface RuleSetOptions {
  config: AuthorizationConfig;
  /** True when bearer or API-key auth is configured (then unmatched items are denied unless `default` says otherwise). */
  authEnabled: boolean;
  /** Adds `resource_metadata` to scope challenges of denied prompts and resources. */
  metadataUrl?: string;
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : typeof v === 'string' ? v.split(' ') : [v];
}

function compileIdentity(when: PrincipalCondition): (p: Principal) => boolean {
  const checks: ((p: Principal) => boolean)[] = [];
  if (when.roles !== undefined) {
    const roles = new Set(when.roles);
    checks.push((p) => listOf(p.claims['roles']).some((r) => typeof r === 'string' && roles.has(r)));
  }
  if (when.subjects !== undefined) {
    const subjects = new Set(when.subjects);
    checks.push((p) => subjects.has(p.subject));
  }
  if (when.authMethods !== undefined) {
    const methods = new Set<string>(when.authMethods);
    checks.push((p) => methods.has(p.authMethod));
  }
  if (when.claims !== undefined) {
    for (const [name, expected] of Object.entries(when.claims)) {
      const allowed = new Set<unknown>(Array.isArray(expected) ? expected : [expected]);
      checks.push((p) => {
        const actual = p.claims[name];
        return Array.isArray(actual) ? actual.some((a) => allowed.has(a)) : allowed.has(actual);
      });
    }
  }
  if (checks.length === 0) return () => true;
  return (p) => checks.every((c) => c(p));
}

/**
 * The one authorization rule set: decides which tools, prompts and resources a principal may see and use. The
 * dispatcher uses the same decision to filter lists and to guard calls, so a caller never sees what it cannot
 * call. Rules are compiled once; the rules matching a name are cached per name, and decisions per principal
 * (a steady caller's call is decided by two map lookups, listing and calling alike).
 *
 * Decision: a matching deny rule whose condition holds denies; else a matching allow rule whose condition holds
 * allows; else, when some matching allow rule would hold with more scopes, the denial names those scopes (the
 * caller can step up); else — also when no rule matches and the default is deny — the item is simply not there.
 * The stdio face's principal (the local user) is allowed unless a deny rule names it.
 */
export class RuleSet implements Authorizer {
  private readonly rules: readonly CompiledRule[];
  private readonly defaultAllow: boolean;
  private readonly explain: boolean;
  private readonly byName = new Map<string, readonly CompiledRule[]>();
  /** Per principal (authentication hands out one object per cached credential): its scopes and its decisions. */
  private readonly perPrincipal = new WeakMap<Principal, PrincipalCache>();
  /** Every scope named by a rule (offered as `scopes_supported` when none is configured). */
  readonly scopesNamed: readonly string[];

  constructor(private readonly options: RuleSetOptions) {
    const cfg = options.config;
    this.defaultAllow = (cfg.default ?? (options.authEnabled ? 'deny' : 'allow')) === 'allow';
    this.explain = cfg.explainDenials;
    this.rules = cfg.rules.map((r, i) => {
      if (r.tools === undefined && r.prompts === undefined && r.resources === undefined) {
        throw new GatewayError(
          'TG_CONFIG_INVALID',
          `authorization.rules.${i}: a rule names tools, prompts or resources`,
        );
      }
      return {
        effect: r.effect,
        matchers: {
          tool: (r.tools ?? []).map(compileGlob),
          prompt: (r.prompts ?? []).map(compileGlob),
          resource: (r.resources ?? []).map(compileGlob),
        },
        scopes: r.when.scopes ?? [],
        identity: compileIdentity(r.when),
      };
    });
    this.scopesNamed = [...new Set(this.rules.flatMap((r) => r.scopes))].sort();
  }

  /** Decides one item for one principal. */
  decide(principal: Principal, kind: ItemKind, name: string): Decision {
    let cache = this.perPrincipal.get(principal);
    if (cache === undefined) {
      cache = { scopes: new Set(principal.scopes), tool: new Map(), prompt: new Map(), resource: new Map() };
      this.perPrincipal.set(principal, cache);
    }
    const decisions = cache[kind];
    let d = decisions.get(name);
    if (d === undefined) {
      d = this.evaluate(principal, cache.scopes, kind, name);
      if (decisions.size < MAX_CACHED_NAMES) decisions.set(name, d);
    }
    return d;
  }

  private evaluate(principal: Principal, held: ReadonlySet<string>, kind: ItemKind, name: string): Decision {
    const rules = this.matching(kind, name);
    if (rules.length === 0) return this.defaultAllow || principal.authMethod === 'stdio' ? ALLOW : DENY;
    let sawAllow = false;
    let allowed = false;
    let closest: CompiledRule | undefined;
    let closestMissing = Infinity;
    for (const r of rules) {
      if (!r.identity(principal)) continue;
      let missing = 0;
      for (const s of r.scopes) if (!held.has(s)) missing++;
      if (r.effect === 'deny') {
        if (missing === 0) return DENY;
        continue;
      }
      sawAllow = true;
      if (missing === 0) allowed = true;
      else if (missing < closestMissing) {
        closest = r;
        closestMissing = missing;
      }
    }
    if (allowed) return ALLOW;
    if (!sawAllow && !rules.some((r) => r.effect === 'allow'))
      return this.defaultAllow || principal.authMethod === 'stdio' ? ALLOW : DENY;
    if (closest === undefined || !this.explain) return DENY;
    return Object.freeze({
      allowed: false,
      requiredScopes: closest.scopes,
      missingScopes: closest.scopes.filter((s) => !held.has(s)),
    });
  }

  toolVisible(principal: Principal, entry: ToolEntry): boolean {
    return this.decide(principal, 'tool', entry.name).allowed;
  }

  promptVisible(principal: Principal, name: string): boolean {
    return this.decide(principal, 'prompt', name).allowed;
  }

  resourceVisible(principal: Principal, uri: string): boolean {
    return this.decide(principal, 'resource', uri).allowed;
  }

  /**
   * Why an item the caller cannot see was refused, when it may be told: only scope shortfalls are explained
   * (the caller's identity would be allowed). Tools: `TG_DENIED` (the authorize policy answers with an isError
   * result). Prompts and resources: HTTP 403 `insufficient_scope` naming every scope needed (RFC 6750 §3.1).
   */
  explainDenial(principal: Principal, kind: ItemKind, name: string): GatewayError | undefined {
    const d = this.decide(principal, kind, name);
    if (d.allowed || d.missingScopes === undefined) return undefined;
    return kind === 'tool'
      ? deniedToolError(name, d, principal)
      : insufficientScope(kind, name, d, principal, this.options.metadataUrl);
  }

  private matching(kind: ItemKind, name: string): readonly CompiledRule[] {
    const key = `${kind}\u0000${name}`;
    let rules = this.byName.get(key);
    if (rules === undefined) {
      rules = this.rules.filter((r) => r.matchers[kind].some((m) => m.test(name)));
      if (this.byName.size >= MAX_CACHED_NAMES) this.byName.clear();
      this.byName.set(key, rules);
    }
    return rules;
  }
}

/** Creates the rule set from `authorization` config. */
export function createRuleSet(options: RuleSetOptions): RuleSet {
  return new RuleSet(options);
}

/** The model-facing denial of a tool call that more scopes would allow. */
export function deniedToolError(tool: string, d: Decision, principal: Principal): GatewayError {
  const missing = d.missingScopes ?? [];
  const required = d.requiredScopes ?? missing;
  const plural = missing.length === 1 ? 'scope' : 'scopes';
  return new GatewayError(
    'TG_DENIED',
    `You are not allowed to call "${tool}": it needs the ${plural} ${missing.map((s) => `"${s}"`).join(', ')}, which your credential (${principal.authMethod}) does not have. Do not retry; ask the user to grant ${missing.length === 1 ? 'it' : 'them'} (re-authorize with scope "${required.join(' ')}") or use another tool.`,
    { data: { missingScopes: missing, requiredScopes: required } },
  );
}

function insufficientScope(
  kind: ItemKind,
  name: string,
  d: Decision,
  principal: Principal,
  metadataUrl: string | undefined,
): GatewayError {
  const required = [...new Set([...principal.scopes, ...(d.requiredScopes ?? [])])];
  const description = `the ${kind} needs scope ${(d.missingScopes ?? []).join(' ')}`;
  const challenge = bearerChallenge({
    error: 'insufficient_scope',
    scope: required.join(' '),
    resource_metadata: metadataUrl,
    error_description: description,
  });
  return new GatewayError('TG_INSUFFICIENT_SCOPE', `Forbidden: ${description} (${name})`, {
    headers: { 'www-authenticate': challenge },
    data: { missingScopes: d.missingScopes ?? [], requiredScopes: d.requiredScopes ?? [] },
  });
}

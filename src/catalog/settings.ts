import type { PolicySettings } from '../config/policy-settings.js';
import type { Config } from '../config/schema.js';
import { compileGlob, type NameMatcher } from './glob.js';

/** Settings of one tool after merging all three levels, with where each top-level key came from. */
export interface ResolvedToolSettings {
  readonly settings: PolicySettings;
  /** Config path that set each top-level key last, e.g. `{ timeoutMs: 'tools."files__*".timeoutMs' }`. */
  readonly sources: Readonly<Record<string, string>>;
  readonly enabled: boolean;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function mergeInto(target: Plain, layer: Plain, sources: Record<string, string>, where: string): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const prev = target[key];
    target[key] = isPlain(prev) && isPlain(value) ? mergePlain(prev, value) : value;
    sources[key] = `${where}.${key}`;
  }
}

function mergePlain(a: Plain, b: Plain): Plain {
  const out: Plain = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? mergePlain(prev, v) : v;
  }
  return out;
}

/** Resolves settings by tool name; patterns are compiled once per config. */
export class SettingsResolver {
  private readonly matchers: { matcher: NameMatcher; index: number }[];

  constructor(private readonly config: Config) {
    this.matchers = Object.keys(config.tools).map((pattern, index) => ({ matcher: compileGlob(pattern), index }));
  }

  /** Merges `defaults` → `upstreams.<name>.policies` → every matching `tools` glob (least specific first). */
  resolve(upstreamName: string, toolName: string): ResolvedToolSettings {
    const merged: Plain = {};
    const sources: Record<string, string> = {};
    mergeInto(merged, this.config.defaults as Plain, sources, 'defaults');
    const up = this.config.upstreams[upstreamName];
    if (up?.policies !== undefined)
      mergeInto(merged, up.policies as Plain, sources, `upstreams.${upstreamName}.policies`);
    let enabled = true;
    const matching = this.matchers
      .filter((m) => m.matcher.test(toolName))
      .sort((a, b) => a.matcher.specificity - b.matcher.specificity || a.index - b.index);
    for (const { matcher } of matching) {
      const { enabled: en, ...rest } = this.config.tools[matcher.pattern] ?? {};
      if (en !== undefined) enabled = en;
      mergeInto(merged, rest as Plain, sources, `tools."${matcher.pattern}"`);
    }
    return { settings: merged as PolicySettings, sources, enabled };
  }
}

import type { Config } from '../config/schema.js';
import { isObject, type JsonObject } from '../jsonrpc/types.js';
import { buildToolChain, type PolicyServices } from '../policies/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { ToolDefinition, ToolEntry, Upstream } from '../types.js';
import { fingerprint } from './fingerprint.js';
import { SettingsResolver } from './settings.js';

/** The lists a catalog aggregates; a change to one is announced with its `list_changed` notification. */
export type CatalogKind = 'tools' | 'prompts' | 'resources';

/** A prompt in the catalog. */
export interface PromptEntry {
  readonly name: string;
  readonly upstream: Upstream;
  readonly promptName: string;
  readonly definition: Readonly<JsonObject>;
}

/** A resource (by exact URI) or resource template in the catalog. */
export interface ResourceEntry {
  readonly key: string;
  readonly upstream: Upstream;
  readonly definition: Readonly<JsonObject>;
}

interface TemplateEntry extends ResourceEntry {
  readonly pattern: RegExp;
}

interface Snapshot {
  tools: ToolDefinition[];
  prompts: JsonObject[];
  resources: JsonObject[];
  templates: JsonObject[];
}

const EMPTY: Snapshot = { tools: [], prompts: [], resources: [], templates: [] };
const MAX_PAGES = 1000;

/** Options of a `Catalog`. */
export interface CatalogOptions {
  config: Config;
  /** Upstreams in config order (the order decides which wins an unprefixed name collision). */
  upstreams: ReadonlyMap<string, Upstream>;
  services: PolicyServices;
  logger: Logger;
  /**
   * Tool admission (pinning, poisoning screen): called with each upstream tool's original definition on every
   * rebuild. `withhold` keeps the tool out of lists but resolvable, so a call reaches its chain and is refused
   * there (TG_TOOL_WITHHELD). Must be synchronous and cheap for unchanged tools.
   */
  admitTool?: (upstreamName: string, definition: ToolDefinition, exposedName: string) => 'list' | 'withhold';
}

/**
 * The aggregated view of every upstream: namespaced tools with their policy chains, prompts, resources.
 * Lists are deterministic (sorted by exposed name). Chains are composed here — at start, on an upstream's
 * list change, on reload — and reused while a tool's definition and settings are unchanged, so policy state
 * (breakers, limits) survives unrelated list refreshes.
 */
export class Catalog {
  private readonly sep: string;
  private readonly resolver: SettingsResolver;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly entriesByUpstream = new Map<string, Map<string, ToolEntry>>();
  private tools: readonly ToolEntry[] = [];
  private toolIndex = new Map<string, ToolEntry>();
  private dormant = new Map<string, ToolEntry>();
  private prompts: readonly PromptEntry[] = [];
  private promptIndex = new Map<string, PromptEntry>();
  private resources: readonly ResourceEntry[] = [];
  private resourceIndex = new Map<string, ResourceEntry>();
  private templates: readonly TemplateEntry[] = [];
  private readonly listeners = new Set<(kinds: ReadonlySet<CatalogKind>) => void>();
  private readonly pending = new Map<string, { kinds: Set<CatalogKind>; timer: NodeJS.Timeout }>();
  private readonly log: Logger;

  constructor(private readonly options: CatalogOptions) {
    this.sep = options.config.naming.separator;
    this.resolver = new SettingsResolver(options.config);
    this.log = options.logger.child({ component: 'catalog' });
  }

  /** Subscribes to list changes (after the catalog is rebuilt). */
  onChange(listener: (kinds: ReadonlySet<CatalogKind>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tools offered now, sorted by name. */
  listTools(): readonly ToolEntry[] {
    return this.tools;
  }

  /** A tool by exposed name — also a tool of an upstream that is down (its call then fails as unavailable). */
  resolveTool(name: string): ToolEntry | undefined {
    return this.toolIndex.get(name) ?? this.dormant.get(name);
  }

  listPrompts(): readonly PromptEntry[] {
    return this.prompts;
  }

  resolvePrompt(name: string): PromptEntry | undefined {
    return this.promptIndex.get(name);
  }

  listResources(): readonly ResourceEntry[] {
    return this.resources;
  }

  listResourceTemplates(): readonly ResourceEntry[] {
    return this.templates;
  }

  /** The upstream serving a resource URI: exact listing first, then templates, then the only resource server. */
  resolveResource(uri: string): Upstream | undefined {
    const exact = this.resourceIndex.get(uri);
    if (exact !== undefined) return exact.upstream;
    for (const t of this.templates) if (t.pattern.test(uri)) return t.upstream;
    const servers = [...this.options.upstreams.values()].filter(
      (u) => u.state === 'up' && isObject(u.info?.capabilities['resources']),
    );
    return servers.length === 1 ? servers[0] : undefined;
  }

  /** The upstream of a resource template (for completion/complete on a template reference). */
  resolveTemplate(uriTemplate: string): Upstream | undefined {
    return this.templates.find((t) => t.key === uriTemplate)?.upstream;
  }

  /** Re-reads every list of one upstream (or empties them when it is down) and rebuilds. */
  async refresh(upstreamName: string, kinds: ReadonlySet<CatalogKind> = ALL_KINDS): Promise<void> {
    const upstream = this.options.upstreams.get(upstreamName);
    if (upstream === undefined) return;
    const previous = this.snapshots.get(upstreamName) ?? EMPTY;
    let next: Snapshot;
    if (upstream.state !== 'up') {
      next = EMPTY;
    } else {
      try {
        next = await this.fetchSnapshot(upstream, previous, kinds);
      } catch (err) {
        this.log.warn(
          { upstream: upstreamName, err: (err as Error).message },
          'cannot list upstream; keeping its previous lists',
        );
        return;
      }
    }
    this.snapshots.set(upstreamName, next);
    this.rebuild();
  }

  /** Schedules a debounced refresh after an upstream's `list_changed`. */
  scheduleRefresh(upstreamName: string, kind: CatalogKind): void {
    const debounceMs = this.options.config.notifications.debounceMs;
    const p = this.pending.get(upstreamName);
    if (p !== undefined) {
      p.kinds.add(kind);
      return;
    }
    const entry = {
      kinds: new Set<CatalogKind>([kind]),
      timer: setTimeout(() => {
        this.pending.delete(upstreamName);
        void this.refresh(upstreamName, entry.kinds);
      }, debounceMs),
    };
    entry.timer.unref();
    this.pending.set(upstreamName, entry);
  }

  /** Stops pending refreshes. */
  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private async fetchSnapshot(
    upstream: Upstream,
    previous: Snapshot,
    kinds: ReadonlySet<CatalogKind>,
  ): Promise<Snapshot> {
    const caps = upstream.info?.capabilities ?? {};
    const has = (cap: string): boolean => (upstream.kind === 'local' ? cap === 'tools' : isObject(caps[cap]));
    const next: Snapshot = { ...previous };
    if (kinds.has('tools'))
      next.tools = has('tools') ? ((await listAll(upstream, 'tools/list', 'tools')) as ToolDefinition[]) : [];
    if (kinds.has('prompts')) next.prompts = has('prompts') ? await listAll(upstream, 'prompts/list', 'prompts') : [];
    if (kinds.has('resources')) {
      next.resources = has('resources') ? await listAll(upstream, 'resources/list', 'resources') : [];
      next.templates = has('resources') ? await listAll(upstream, 'resources/templates/list', 'resourceTemplates') : [];
    }
    next.tools = next.tools.filter((t) => isValidTool(t, upstream.name, this.log));
    return next;
  }

  private exposedName(upstreamName: string, name: string): string {
    const cfg = this.options.config.upstreams[upstreamName];
    const ns = cfg?.namespace === undefined ? upstreamName : cfg.namespace;
    return ns === false || ns === '' ? name : `${ns}${this.sep}${name}`;
  }

  /** Rebuilds the indexes from the snapshots and announces what changed. */
  private rebuild(): void {
    const before = {
      tools: signature(this.tools),
      prompts: signature(this.prompts),
      resources: signature([...this.resources, ...this.templates]),
    };
    const tools: ToolEntry[] = [];
    const toolIndex = new Map<string, ToolEntry>();
    const dormant = new Map<string, ToolEntry>();
    const prompts: PromptEntry[] = [];
    const promptIndex = new Map<string, PromptEntry>();
    const resources: ResourceEntry[] = [];
    const resourceIndex = new Map<string, ResourceEntry>();
    const templates: TemplateEntry[] = [];

    for (const [upstreamName, upstream] of this.options.upstreams) {
      const snap = this.snapshots.get(upstreamName) ?? EMPTY;
      const live = upstream.state === 'up' || upstream.state === 'restarting' || upstream.state === 'starting';
      const previousEntries = this.entriesByUpstream.get(upstreamName) ?? new Map<string, ToolEntry>();
      const entries = new Map<string, ToolEntry>();
      for (const def of snap.tools) {
        const name = this.exposedName(upstreamName, def.name);
        const resolved = this.resolver.resolve(upstreamName, name);
        if (!resolved.enabled) continue;
        const exposed: ToolDefinition = { ...def, name };
        const version = fingerprint(exposed);
        const settingsKey = fingerprint(resolved.settings);
        const reuse = previousEntries.get(name);
        const entry =
          reuse !== undefined && reuse.version === version && settingsKeys.get(reuse) === settingsKey
            ? reuse
            : this.makeEntry(upstreamName, upstream, def.name, exposed, version, resolved, settingsKey);
        entries.set(name, entry);
        if (!live) continue; // handled below with the upstream's other last-known tools
        if (toolIndex.has(name)) {
          this.log.error(
            { tool: name, upstream: upstreamName, kept: toolIndex.get(name)?.upstreamName },
            'tool name collision; the later tool is dropped',
          );
          continue;
        }
        const admitted =
          this.options.admitTool === undefined || this.options.admitTool(upstreamName, def, name) === 'list';
        if (live && admitted) {
          tools.push(entry);
          toolIndex.set(name, entry);
        } else {
          dormant.set(name, entry);
        }
      }
      if (!live) {
        // A down upstream's last known tools stay resolvable: calls fail as unavailable — or, when the tool has a
        // fallback upstream that is up, are served there, so the tool stays listed.
        for (const [name, entry] of previousEntries) if (!entries.has(name)) entries.set(name, entry);
        for (const [name, entry] of entries) {
          if (!toolIndex.has(name) && this.fallbackIsUp(upstreamName, name)) {
            tools.push(entry);
            toolIndex.set(name, entry);
          } else dormant.set(name, entry);
        }
        this.entriesByUpstream.set(upstreamName, entries);
        continue;
      }
      this.entriesByUpstream.set(upstreamName, entries);
      for (const p of snap.prompts) {
        if (typeof p['name'] !== 'string') continue;
        const name = this.exposedName(upstreamName, p['name']);
        if (promptIndex.has(name)) continue;
        const entry: PromptEntry = { name, upstream, promptName: p['name'], definition: Object.freeze({ ...p, name }) };
        prompts.push(entry);
        promptIndex.set(name, entry);
      }
      for (const r of snap.resources) {
        const uri = r['uri'];
        if (typeof uri !== 'string') continue;
        if (resourceIndex.has(uri)) {
          this.log.warn(
            { uri, upstream: upstreamName },
            'resource URI offered by two upstreams; the first one serves it',
          );
          continue;
        }
        const entry: ResourceEntry = { key: uri, upstream, definition: Object.freeze({ ...r }) };
        resources.push(entry);
        resourceIndex.set(uri, entry);
      }
      for (const t of snap.templates) {
        const tpl = t['uriTemplate'];
        if (typeof tpl !== 'string') continue;
        templates.push({ key: tpl, upstream, definition: Object.freeze({ ...t }), pattern: templatePattern(tpl) });
      }
    }
    const byName = (a: { name: string }, b: { name: string }): number =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    this.tools = Object.freeze(tools.sort(byName));
    this.toolIndex = toolIndex;
    for (const name of toolIndex.keys()) dormant.delete(name);
    this.dormant = dormant;
    this.prompts = Object.freeze(prompts.sort(byName));
    this.promptIndex = promptIndex;
    this.resources = Object.freeze(resources.sort(byKey));
    this.resourceIndex = resourceIndex;
    this.templates = Object.freeze(templates.sort(byKey));

    const changed = new Set<CatalogKind>();
    if (signature(this.tools) !== before.tools) changed.add('tools');
    if (signature(this.prompts) !== before.prompts) changed.add('prompts');
    if (signature([...this.resources, ...this.templates]) !== before.resources) changed.add('resources');
    if (changed.size > 0) for (const l of this.listeners) l(changed);
  }

  /** True when the tool names a fallback upstream (in any settings level) that is up now. */
  private fallbackIsUp(upstreamName: string, toolName: string): boolean {
    const target = this.resolver.resolve(upstreamName, toolName).settings.fallback?.upstream;
    return target !== undefined && this.options.upstreams.get(target)?.state === 'up';
  }

  private makeEntry(
    upstreamName: string,
    upstream: Upstream,
    toolName: string,
    definition: ToolDefinition,
    version: string,
    resolved: ReturnType<SettingsResolver['resolve']>,
    settingsKey: string,
  ): ToolEntry {
    const frozen = Object.freeze(definition);
    const invoke = buildToolChain({
      toolName: definition.name,
      upstreamName,
      definition: frozen,
      settings: resolved.settings,
      sources: resolved.sources,
      services: this.options.services,
    });
    const entry: ToolEntry = Object.freeze({
      name: definition.name,
      upstreamName,
      upstream,
      toolName,
      definition: frozen,
      version,
      invoke,
    });
    settingsKeys.set(entry, settingsKey);
    return entry;
  }
}

const ALL_KINDS: ReadonlySet<CatalogKind> = new Set<CatalogKind>(['tools', 'prompts', 'resources']);
const settingsKeys = new WeakMap<ToolEntry, string>();

function signature(items: readonly { name?: string; key?: string; version?: string; definition?: unknown }[]): string {
  return items.map((i) => `${i.name ?? i.key}@${i.version ?? fingerprint(i.definition)}`).join('\n');
}

async function listAll(upstream: Upstream, method: string, key: string): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  let cursor: string | undefined;
  const seen = new Set<string>();
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await upstream.call(method, cursor === undefined ? {} : { cursor }, {
      signal: AbortSignal.timeout(30_000),
    });
    const items = result[key];
    if (Array.isArray(items)) for (const i of items) if (isObject(i)) out.push(i);
    const next = result['nextCursor'];
    if (typeof next !== 'string' || seen.has(next)) break; // a repeated cursor would loop forever
    seen.add(next);
    cursor = next;
  }
  return out;
}

function isValidTool(t: unknown, upstream: string, log: Logger): t is ToolDefinition {
  const ok = isObject(t) && typeof t['name'] === 'string' && t['name'] !== '' && isObject(t['inputSchema']);
  if (!ok)
    log.warn(
      { upstream, tool: isObject(t) ? t['name'] : undefined },
      'upstream listed an invalid tool definition (skipped)',
    );
  return ok;
}

/** A regular expression matching URIs of an RFC 6570 template (`{var}` one segment, `{+var}`/`{#var}` anything). */
export function templatePattern(template: string): RegExp {
  let source = '';
  let last = 0;
  for (const m of template.matchAll(/\{([+#./;?&]?)([^}]*)\}/g)) {
    source += template.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const op = m[1];
    source += op === '+' || op === '#' ? '.*' : op === '?' || op === '&' ? '(?:[?&].*)?' : '[^/]*';
    last = (m.index ?? 0) + m[0].length;
  }
  source += template.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${source}$`);
}

import { fingerprint } from '../catalog/fingerprint.js';
import { hiddenCharacters, INSTRUCTION_PATTERNS } from '../check/poisoning.js';
import type { PinningConfig } from '../config/security.js';
import type { Logger } from '../telemetry/logger.js';
import type { PinRecord, Store } from '../state/store.js';
import type { ToolDefinition } from '../types.js';

/** What the catalog does with a tool: list it, or keep it out of lists (calls get TG_TOOL_WITHHELD). */
export type Admission = 'list' | 'withhold';

/** Fingerprint of what a model reads of a tool at its upstream: name, title, description, schemas, annotations. */
export function pinFingerprint(def: ToolDefinition): string {
  return fingerprint({
    name: def.name,
    title: def.title,
    description: def.description,
    inputSchema: def.inputSchema,
    outputSchema: def.outputSchema,
    annotations: def.annotations,
  });
}

/** Findings of the poisoning screen on one tool definition (empty when clean). */
export function screenDefinition(def: ToolDefinition): string[] {
  const findings: string[] = [];
  const texts: [string, string][] = [];
  const collect = (v: unknown, path: string, depth: number): void => {
    if (depth > 8 || texts.length > 500) return;
    if (typeof v === 'string') texts.push([path, v]);
    else if (Array.isArray(v)) v.forEach((x, i) => collect(x, `${path}[${i}]`, depth + 1));
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) collect(x, `${path}.${k}`, depth + 1);
  };
  collect(
    {
      name: def.name,
      title: def.title,
      description: def.description,
      inputSchema: def.inputSchema,
      annotations: def.annotations,
    },
    'tool',
    0,
  );
  for (const [path, text] of texts) {
    const hidden = hiddenCharacters(text);
    if (hidden !== undefined) {
      findings.push(
        `hidden Unicode in ${path} (${hidden.codes.join(' ')})${hidden.decodedTags !== '' ? ` spelling "${hidden.decodedTags.slice(0, 80)}"` : ''}`,
      );
    }
    for (const [label, re] of INSTRUCTION_PATTERNS) if (re.test(text)) findings.push(`${label} in ${path}`);
  }
  return findings;
}

/** Options of the `PinRegistry`. */
export interface PinRegistryOptions {
  config: PinningConfig;
  logger: Logger;
  now?: () => number;
}

const key = (upstream: string, tool: string): string => `${upstream}\u0000${tool}`;

/**
 * Tool pinning (rug-pull detection) and the poisoning screen. Each upstream tool's fingerprint is recorded on
 * first sight; a later change is logged and, per config, accepted (re-pinned) or the tool is withheld until
 * approved (`toolgate tools approve NAME`). Descriptions are screened at registration for hidden Unicode and
 * instruction-like text. `admit` answers synchronously from memory (the catalog rebuild is synchronous); store
 * writes happen in the background, and approvals made by the CLI are picked up by polling.
 */
export class PinRegistry {
  private readonly pins = new Map<string, PinRecord>();
  private readonly withheld = new Set<string>();
  private readonly decided = new Map<string, { fp: string; admission: Admission }>();
  private store: Store | undefined;
  private poller: NodeJS.Timeout | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: PinRegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the pins of the store (before the catalog is first built). */
  async load(store: Store): Promise<void> {
    this.store = store;
    for (const p of await store.listPins()) this.pins.set(key(p.upstream, p.tool), p);
  }

  /** Re-reads the pins every `pollIntervalMs`; calls `onApproved` with the upstreams whose tools were approved. */
  startPolling(onApproved: (upstreams: ReadonlySet<string>) => void): void {
    if (this.store === undefined || this.store.kind === 'memory') return;
    this.poller = setInterval(() => void this.poll(onApproved), this.options.config.pollIntervalMs);
    this.poller.unref();
  }

  /** True when the exposed tool is withheld (the pin policy refuses calls to it). */
  isWithheld(exposedName: string): boolean {
    return this.withheld.has(exposedName);
  }

  /** Every pin (CLI, tests). */
  list(): PinRecord[] {
    return [...this.pins.values()];
  }

  /** Decides whether a tool of an upstream is listed. Called by the catalog on every rebuild; cheap when unchanged. */
  admit(upstream: string, def: ToolDefinition, exposedName: string): Admission {
    if (!this.options.config.enabled) return 'list';
    const k = key(upstream, def.name);
    const fp = pinFingerprint(def);
    const known = this.decided.get(k);
    const pin = this.pins.get(k);
    if (
      known !== undefined &&
      known.fp === fp &&
      pin !== undefined &&
      (pin.status === 'approved') === (known.admission === 'list')
    ) {
      return known.admission;
    }
    const admission = this.decide(upstream, def, exposedName, fp, pin);
    this.decided.set(k, { fp, admission });
    if (admission === 'withhold') this.withheld.add(exposedName);
    else this.withheld.delete(exposedName);
    return admission;
  }

  /** Approves a pending tool by exposed name (in-process; the CLI writes the store directly). */
  async approve(exposedName: string): Promise<PinRecord | undefined> {
    const pin = [...this.pins.values()].find((p) => p.exposedName === exposedName);
    if (pin === undefined) return undefined;
    const approved = approvedPin(pin, this.now());
    this.pins.set(key(pin.upstream, pin.tool), approved);
    this.decided.delete(key(pin.upstream, pin.tool));
    await this.store?.upsertPin(approved);
    return approved;
  }

  /** Stops polling and waits for pending writes. */
  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.writes;
  }

  private decide(
    upstream: string,
    def: ToolDefinition,
    exposedName: string,
    fp: string,
    pin: PinRecord | undefined,
  ): Admission {
    const cfg = this.options.config;
    const log = this.options.logger;
    const t = this.now();
    const findings = cfg.screen === 'off' ? [] : screenDefinition(def);
    const definition = JSON.stringify(def);
    if (findings.length > 0)
      log.warn({ upstream, tool: exposedName, findings }, 'tool description failed the poisoning screen');
    const screenWithholds = findings.length > 0 && cfg.screen === 'withhold';
    if (pin === undefined) {
      const record: PinRecord = {
        upstream,
        tool: def.name,
        exposedName,
        fingerprint: screenWithholds ? '' : fp,
        pendingFingerprint: screenWithholds ? fp : null,
        definition,
        status: screenWithholds ? 'pending' : 'approved',
        reason: screenWithholds ? `poisoning screen: ${findings.join('; ')}` : null,
        firstSeen: t,
        updatedAt: t,
      };
      this.save(record);
      if (screenWithholds)
        log.warn({ upstream, tool: exposedName }, 'new tool withheld until approved (toolgate tools approve)');
      return screenWithholds ? 'withhold' : 'list';
    }
    if (pin.fingerprint === fp) {
      if (pin.status === 'pending')
        this.save({ ...pin, status: 'approved', pendingFingerprint: null, reason: null, updatedAt: t, exposedName });
      return 'list';
    }
    if (pin.status === 'pending' && pin.pendingFingerprint === fp) return 'withhold';
    const change = describeChange(pin.definition, def);
    const withhold = cfg.onChange === 'withhold' || screenWithholds;
    log.warn(
      {
        upstream,
        tool: exposedName,
        from: pin.fingerprint,
        to: fp,
        changed: change,
        action: withhold ? 'withheld' : 'accepted',
      },
      'tool definition changed upstream',
    );
    if (!withhold) {
      this.save({
        ...pin,
        exposedName,
        fingerprint: fp,
        pendingFingerprint: null,
        definition,
        status: 'approved',
        reason: null,
        updatedAt: t,
      });
      return 'list';
    }
    const reason = [
      `changed upstream (${change.join(', ')})`,
      ...(findings.length > 0 ? [`poisoning screen: ${findings.join('; ')}`] : []),
    ].join('; ');
    this.save({ ...pin, exposedName, pendingFingerprint: fp, definition, status: 'pending', reason, updatedAt: t });
    return 'withhold';
  }

  private save(record: PinRecord): void {
    this.pins.set(key(record.upstream, record.tool), record);
    const store = this.store;
    if (store === undefined) return;
    this.writes = this.writes
      .then(() => store.upsertPin(record))
      .catch((err: unknown) =>
        this.options.logger.error({ err: (err as Error).message, tool: record.exposedName }, 'cannot store tool pin'),
      );
  }

  private async poll(onApproved: (upstreams: ReadonlySet<string>) => void): Promise<void> {
    const store = this.store;
    if (store === undefined) return;
    let rows: PinRecord[];
    try {
      rows = await store.listPins();
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'cannot re-read tool pins');
      return;
    }
    const changed = new Set<string>();
    for (const row of rows) {
      const k = key(row.upstream, row.tool);
      const mine = this.pins.get(k);
      if (mine !== undefined && mine.status === 'pending' && row.status === 'approved') {
        this.pins.set(k, row);
        this.decided.delete(k);
        changed.add(row.upstream);
        this.options.logger.info({ tool: row.exposedName }, 'tool approved');
      }
    }
    if (changed.size > 0) onApproved(changed);
  }
}

/** The record after approval of its pending fingerprint. */
export function approvedPin(pin: PinRecord, at: number): PinRecord {
  return {
    ...pin,
    fingerprint: pin.pendingFingerprint ?? pin.fingerprint,
    pendingFingerprint: null,
    status: 'approved',
    reason: null,
    updatedAt: at,
  };
}

function describeChange(previous: string, def: ToolDefinition): string[] {
  let old: Record<string, unknown> = {};
  try {
    old = JSON.parse(previous) as Record<string, unknown>;
  } catch {
    return ['definition'];
  }
  const fields = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
  const changed = fields.filter((f) => fingerprint(old[f] ?? null) !== fingerprint(def[f] ?? null));
  return changed.length > 0 ? changed : ['definition'];
}

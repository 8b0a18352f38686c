import { createHmac, randomBytes } from 'node:crypto';
import type { RedactionConfig } from '../config/security.js';
import { GatewayError } from '../errors.js';
import { DETECTORS, KEY_LIKE_FIELD, looksRandom, REDACTION_KINDS, type Detector } from './detectors.js';

/** How found values are replaced. */
export type RedactMode = 'mask' | 'hash';

/** Where a redaction happened (a metric label). */
export type RedactionSite = 'result' | 'log' | 'audit' | 'error';

/** Text or a value after redaction, and the kinds removed (empty when nothing was found). */
export interface Redacted<T> {
  readonly value: T;
  readonly kinds: readonly string[];
}

/** Options of `createRedactor`. */
export interface RedactorOptions {
  config: RedactionConfig;
  /** Where `secretEnv` values are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

const MAX_DEPTH = 32;
const MIN_SECRET_ENV_LENGTH = 6;
const NONE: readonly string[] = Object.freeze([]);

/**
 * The one redactor of a gateway: built once from `redaction` config (one combined regular expression), used for
 * tool results, log lines and audit records. Replacements name what was removed (`[REDACTED:email]`), so the
 * model and the reader know something was there. Every redaction is counted by kind and site.
 */
export class Redactor {
  private readonly pattern: RegExp | undefined;
  private readonly detectors: readonly Detector[];
  private readonly groups: readonly string[];
  private readonly hashKey: Buffer;
  private readonly fieldsEnabled: boolean;
  private readonly counts = new Map<string, number>();
  /** Called for every redaction (metrics hook; set once by the gateway). */
  onRedact: ((kind: string, site: RedactionSite) => void) | undefined;

  constructor(options: RedactorOptions) {
    const cfg = options.config;
    const env = options.env ?? process.env;
    const disabled = new Set(cfg.disable);
    for (const k of disabled) {
      if (!REDACTION_KINDS.includes(k)) {
        throw new GatewayError(
          'TG_CONFIG_INVALID',
          `redaction.disable: unknown kind "${k}" (known: ${REDACTION_KINDS.join(', ')})`,
        );
      }
    }
    const detectors: Detector[] = DETECTORS.filter(
      (d) => !disabled.has(d.kind) && ((d.category === 'secret' && cfg.secrets) || (d.category === 'pii' && cfg.pii)),
    );
    const values = cfg.secretEnv
      .map((name) => env[name])
      .filter((v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_ENV_LENGTH)
      .sort((a, b) => b.length - a.length);
    if (values.length > 0 && !disabled.has('secret_env')) {
      // Configured secrets first: their exact value wins over any generic pattern that would cut it differently.
      detectors.unshift({ kind: 'secret_env', category: 'secret', source: values.map(escapeRegExp).join('|') });
    }
    this.detectors = detectors;
    this.groups = detectors.map((_, i) => `d${i}`);
    this.pattern =
      detectors.length === 0 ? undefined : new RegExp(detectors.map((d, i) => `(?<d${i}>${d.source})`).join('|'), 'g');
    this.fieldsEnabled = cfg.secrets && !disabled.has('secret_field');
    this.hashKey = cfg.hashKey !== undefined ? Buffer.from(cfg.hashKey) : randomBytes(32);
  }

  /** Redactions so far, by `site:kind`. */
  get totals(): ReadonlyMap<string, number> {
    return this.counts;
  }

  /** Redacts a string. Returns the same string (and no kinds) when nothing was found. */
  redactText(text: string, mode: RedactMode, site: RedactionSite): Redacted<string> {
    let kinds: string[] | undefined;
    const value = this.redactString(text, mode, site, (kind) => (kinds ??= []).push(kind));
    return kinds === undefined ? { value: text, kinds: NONE } : { value, kinds };
  }

  /** The scan behind `redactText` and `walk`: the redacted string; each finding's kind goes to `found`. */
  private redactString(text: string, mode: RedactMode, site: RedactionSite, found: (kind: string) => void): string {
    const pattern = this.pattern;
    if (pattern === undefined || text.length === 0) return text;
    pattern.lastIndex = 0;
    return text.replace(pattern, (...args: unknown[]) => {
      const match = args[0] as string;
      const named = args[args.length - 1] as Record<string, string | undefined>;
      const i = this.groups.findIndex((g) => named[g] !== undefined);
      const d = this.detectors[i];
      if (d === undefined || (d.validate !== undefined && !d.validate(match))) return match;
      found(d.kind);
      this.count(d.kind, site);
      const keep = d.keep?.(match) ?? 0;
      return match.slice(0, keep) + this.replacement(d.kind, match.slice(keep), mode);
    });
  }

  /**
   * Redacts every string in a JSON value (and, for key-like fields such as `api_key`, random-looking values as a
   * whole). Returns the same reference when nothing was found, so clean results cost no copy.
   */
  redactValue<T>(value: T, mode: RedactMode, site: RedactionSite): Redacted<T> {
    const kinds: string[] = [];
    const out = this.walk(value, mode, site, kinds, 0, undefined);
    return kinds.length === 0 ? { value, kinds: NONE } : { value: out as T, kinds };
  }

  /** Redacts one log line (JSON text; replacements never contain quotes or backslashes). */
  redactLine = (line: string): string => this.redactText(line, 'mask', 'log').value;

  /** Throws `TG_OUTPUT_BLOCKED` naming what was found (block mode). */
  blocked(tool: string, kinds: readonly string[]): GatewayError {
    const unique = [...new Set(kinds)];
    return new GatewayError(
      'TG_OUTPUT_BLOCKED',
      `The result of "${tool}" was withheld because it contained sensitive data (${unique.join(', ')}). Ask for less data, or for a summary without credentials or personal data.`,
      { data: { kinds: unique } },
    );
  }

  private walk(
    v: unknown,
    mode: RedactMode,
    site: RedactionSite,
    kinds: string[],
    depth: number,
    key: string | undefined,
  ): unknown {
    if (typeof v === 'string') {
      if (key !== undefined && this.fieldsEnabled && KEY_LIKE_FIELD.test(key) && looksRandom(v)) {
        kinds.push('secret_field');
        this.count('secret_field', site);
        return this.replacement('secret_field', v, mode);
      }
      return this.redactString(v, mode, site, (kind) => kinds.push(kind));
    }
    if (depth >= MAX_DEPTH || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const r = this.walk(v[i], mode, site, kinds, depth + 1, key);
        if (r !== v[i]) (copy ??= v.slice())[i] = r;
      }
      return copy ?? v;
    }
    // Clean values (the common case) allocate nothing: no entries array, a copy only once something changes.
    const obj = v as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const k in obj) {
      if (!Object.hasOwn(obj, k)) continue;
      const x = obj[k];
      const r = this.walk(x, mode, site, kinds, depth + 1, k);
      if (r !== x) (copy ??= { ...obj })[k] = r;
    }
    return copy ?? v;
  }

  private replacement(kind: string, value: string, mode: RedactMode): string {
    if (mode === 'hash')
      return `[${kind}:${createHmac('sha256', this.hashKey).update(value).digest('hex').slice(0, 12)}]`;
    return `[REDACTED:${kind}]`;
  }

  private count(kind: string, site: RedactionSite): void {
    const key = `${site}:${kind}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.onRedact?.(kind, site);
  }
}

/** Creates the redactor from `redaction` config (validated once). */
export function createRedactor(options: RedactorOptions): Redactor {
  return new Redactor(options);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

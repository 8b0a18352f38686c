import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { ApiKeyRecord, Store } from '../state/store.js';
import type { Principal } from '../types.js';

/** Prefix of every toolgate API key (also a redactor detector, so keys never reach logs). */
export const API_KEY_PREFIX = 'tgk_';
const KEY_FORMAT = /^tgk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** A bad key is remembered this long, so a flood of wrong keys does not hammer the store. */
const NEGATIVE_TTL_MS = 5000;
const MAX_CACHED = 10_000;

/** A key just created: `key` is shown once and never stored. */
export interface CreatedApiKey {
  readonly id: string;
  readonly key: string;
  readonly record: ApiKeyRecord;
}

/** Options of the `ApiKeyService`. */
export interface ApiKeyServiceOptions {
  store: () => Store;
  /** How long a verified key is trusted without re-reading the store. */
  cacheTtlMs?: number;
  now?: () => number;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * API keys for machine clients: `tgk_<id>_<secret>`. Only SHA-256 of the secret is stored — keys carry 256 random
 * bits, so a slow password hash adds nothing. Verification is cached (`cacheTtlMs`); last-used times are
 * collected in memory and written in one batch (`flush`).
 */
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal | undefined; keyId: string; until: number }>();
  private readonly lastUsed = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyServiceOptions) {
    this.ttlMs = options.cacheTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** True when the text has the shape of a toolgate key. */
  static looksLikeKey(text: string): boolean {
    return text.startsWith(API_KEY_PREFIX);
  }

  /** Creates and stores a key. */
  async create(name: string, scopes: readonly string[], expiresAt: number | null): Promise<CreatedApiKey> {
    if (!/^[\w.@:-]{1,64}$/.test(name))
      throw new GatewayError('TG_CLI_USAGE', 'a key name is 1–64 letters, digits, _ . @ : -');
    const existing = await this.options.store().listKeys();
    if (existing.some((k) => k.name === name && k.revokedAt === null)) {
      throw new GatewayError(
        'TG_CLI_USAGE',
        `an active key named "${name}" exists; revoke it first or choose another name`,
      );
    }
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      name,
      hash: sha256(secret),
      scopes: [...scopes],
      createdAt: this.now(),
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.options.store().insertKey(record);
    return { id, key: `${API_KEY_PREFIX}${id}_${secret}`, record };
  }

  /**
   * The cached verdict on a key, without waiting: its principal, `null` for a key known to be invalid, or
   * undefined when the cache cannot answer (then `verify`). Counts as a use of the key.
   */
  cached(key: string): Principal | null | undefined {
    const hit = this.cache.get(key);
    if (hit === undefined) return undefined;
    const t = this.now();
    if (hit.until <= t) return undefined;
    if (hit.principal === undefined) return null;
    this.lastUsed.set(hit.keyId, t);
    return hit.principal;
  }

  /** The principal of a valid key, or undefined (unknown, wrong secret, revoked, expired). */
  async verify(key: string): Promise<Principal | undefined> {
    const known = this.cached(key);
    if (known !== undefined) return known ?? undefined;
    const t = this.now();
    const m = KEY_FORMAT.exec(key);
    let principal: Principal | undefined;
    let until = t + NEGATIVE_TTL_MS;
    if (m !== null) {
      let record: ApiKeyRecord | undefined;
      try {
        record = await this.options.store().getKey(m[1] as string);
      } catch (err) {
        throw new GatewayError('TG_AUTH_UNAVAILABLE', `the key store is unreachable: ${(err as Error).message}`, {
          cause: err,
          retryAfterMs: 1000,
        });
      }
      if (
        record !== undefined &&
        matches(record.hash, sha256(m[2] as string)) &&
        record.revokedAt === null &&
        (record.expiresAt === null || record.expiresAt > t)
      ) {
        principal = Object.freeze({
          subject: `key:${record.id}`,
          scopes: Object.freeze([...record.scopes]),
          claims: Object.freeze({ keyId: record.id, name: record.name }),
          authMethod: 'api-key' as const,
        });
        until = Math.min(t + this.ttlMs, record.expiresAt ?? Infinity);
        this.lastUsed.set(record.id, t);
      }
    }
    if (this.cache.size >= MAX_CACHED) {
      const first = this.cache.keys().next();
      if (first.done !== true) this.cache.delete(first.value);
    }
    this.cache.set(key, { principal, keyId: m?.[1] ?? '', until });
    return principal;
  }

  /** Writes collected last-used times to the store. */
  async flush(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = new Map(this.lastUsed);
    this.lastUsed.clear();
    await this.options.store().touchKeys(batch);
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.options.store().listKeys();
  }

  /** Revokes by id or name; forgets cached verifications at once in this process. */
  async revoke(idOrName: string): Promise<number> {
    const n = await this.options.store().revokeKey(idOrName, this.now());
    this.cache.clear();
    return n;
  }
}

function matches(storedHex: string, candidateHex: string): boolean {
  const a = Buffer.from(storedHex, 'hex');
  const b = Buffer.from(candidateHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Parses `--expires`: `30d`, `12h`, `90m`, an ISO date, or `never`. */
export function parseExpiry(text: string | undefined, now: number = Date.now()): number | null {
  if (text === undefined || text === 'never') return null;
  const rel = /^(\d+)\s*(m|h|d|w|y)$/.exec(text);
  if (rel !== null) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 }[
      rel[2] as 'm' | 'h' | 'd' | 'w' | 'y'
    ];
    return now + Number(rel[1]) * unit;
  }
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new GatewayError(
      'TG_CLI_USAGE',
      `--expires must be like 30d, 12h, 90m, an ISO date, or never; got "${text}"`,
    );
  if (at <= now) throw new GatewayError('TG_CLI_USAGE', '--expires is in the past');
  return at;
}

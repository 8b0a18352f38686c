import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, GatewayError, isGatewayError } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `(TG_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));

describe('error registry', () => {
  it('documents every registered code in docs/errors.md', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c));
    expect(missing).toEqual([]);
  });

  it('registers every code documented in docs/errors.md', () => {
    const unknown = [...documented].filter((c) => c !== undefined && !(c in ERROR_CODES));
    expect(unknown).toEqual([]);
  });

  it('gives every protocol code a JSON-RPC code outside the reserved -32000..-32019 sub-range', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      if (spec.surface !== 'protocol') continue;
      expect(spec.jsonRpcCode, code).toBeTypeOf('number');
      const n = spec.jsonRpcCode as number;
      expect(n >= -32019 && n <= -32000, `${code} uses ${n}`).toBe(false);
    }
  });

  it('carries code, data and retry hint on GatewayError', () => {
    const err = new GatewayError('TG_TIMEOUT', 'too slow', { retryAfterMs: 500, data: { limitMs: 10 } });
    expect(isGatewayError(err)).toBe(true);
    expect(err.code).toBe('TG_TIMEOUT');
    expect(err.spec.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(500);
    expect(err.data).toEqual({ limitMs: 10 });
    expect(isGatewayError(new Error('plain'))).toBe(false);
  });
});

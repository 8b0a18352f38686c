import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const base = `upstreams:
  a: { kind: stdio, command: node }
  b: { kind: stdio, command: node }
`;

describe('policy settings in config', () => {
  it('accepts every policy key at the three levels', () => {
    const loaded = parseConfig(
      `${base}defaults:
  validate: { autocorrect: suggest, invalidSchema: serve-unvalidated }
  output: { schema: enforce, maxBytes: 65536, maxTokens: 8000 }
  retry: { attempts: 4, initialDelayMs: 100, maxDelayMs: 2000, budgetMs: 10000, on: [TG_UPSTREAM_TRANSPORT, TG_UPSTREAM_CRASHED], errorResults: true }
  circuitBreaker: { tool: { consecutiveFailures: 3, failureRate: 0.5, minimumCalls: 10, windowMs: 30000, openMs: 5000, halfOpenProbes: 2 }, upstream: { enabled: false } }
  concurrency: { upstream: { maxConcurrent: 1, maxQueue: 10, maxWaitMs: 5000 } }
tools:
  'a__*': { retry: { idempotent: true }, concurrency: { tool: { maxConcurrent: 2 } }, fallback: { upstream: b, tool: other } }
`,
      { env: {} },
    );
    expect(loaded.config.defaults.retry?.on).toEqual(['TG_UPSTREAM_TRANSPORT', 'TG_UPSTREAM_CRASHED']);
  });

  it('rejects unknown modes, bad ranges and codes with their paths', () => {
    expect(() =>
      parseConfig(
        `${base}defaults:\n  validate: { autocorrect: maybe }\n  retry: { attempts: 0, on: [NOT_A_CODE] }\n  circuitBreaker: { tool: { failureRate: 2 } }\n`,
        { env: {} },
      ),
    ).toThrow(
      /defaults\.validate\.autocorrect[\s\S]*defaults\.retry\.attempts[\s\S]*defaults\.retry\.on\.0[\s\S]*defaults\.circuitBreaker\.tool\.failureRate/,
    );
  });

  it('checks that a fallback upstream exists and is not the upstream itself', () => {
    expect(() => parseConfig(`${base}tools:\n  'a__*': { fallback: { upstream: nowhere } }\n`, { env: {} })).toThrow(
      /tools\.a__\*\.fallback\.upstream.*fallback upstream "nowhere" is not configured — one of: a, b/,
    );
    expect(() =>
      parseConfig(`upstreams:\n  a: { kind: stdio, command: node, policies: { fallback: { upstream: a } } }\n`, {
        env: {},
      }),
    ).toThrow(/upstreams\.a\.policies\.fallback\.upstream.*cannot be its own fallback/);
  });

  it('refuses upstream-wide breaker and limit settings per tool', () => {
    expect(() =>
      parseConfig(`${base}tools:\n  'a__x': { concurrency: { upstream: { maxConcurrent: 1 } } }\n`, { env: {} }),
    ).toThrow(/tools\.a__x\.concurrency\.upstream.*upstream-wide settings cannot vary per tool/);
  });
});

import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/bench/histogram.js';

/** A seeded PRNG (mulberry32) so the distributions are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The exact percentile by the same definition: smallest sample with at least p % of samples at or below it. */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const PERCENTILES = [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99];

describe('LatencyHistogram', () => {
  it('reports small values exactly (one bucket per microsecond below 256 µs)', () => {
    const h = new LatencyHistogram();
    for (let v = 0; v < 256; v++) h.record(v);
    expect(h.count).toBe(256);
    expect(h.percentile(50)).toBe(127);
    expect(h.percentile(100)).toBe(255);
    expect(h.min).toBe(0);
    expect(h.max).toBe(255);
  });

  for (const [name, draw] of [
    ['uniform 1 µs – 100 ms', (r: () => number) => 1 + r() * 100_000],
    [
      'log-normal around 2 ms',
      (r: () => number) =>
        Math.exp(Math.log(2000) + 0.8 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r())),
    ],
    [
      'bimodal 300 µs / 40 ms with a 1 % tail to 5 s',
      (r: () => number) => {
        const x = r();
        return x < 0.01 ? 1_000_000 + r() * 4_000_000 : x < 0.7 ? 300 + r() * 50 : 40_000 + r() * 5000;
      },
    ],
  ] as const) {
    it(`is within 0.4 % (+1 µs rounding) of the exact percentiles: ${name}`, () => {
      const r = rng(42);
      const h = new LatencyHistogram();
      const samples: number[] = [];
      for (let i = 0; i < 50_000; i++) {
        const v = Math.round(draw(r));
        samples.push(v);
        h.record(v);
      }
      samples.sort((a, b) => a - b);
      for (const p of PERCENTILES) {
        const exact = exactPercentile(samples, p);
        const got = h.percentile(p);
        expect(Math.abs(got - exact), `p${p}: exact ${exact}, got ${got}`).toBeLessThanOrEqual(exact / 256 + 1);
      }
      expect(h.min).toBe(samples[0]);
      expect(h.max).toBe(samples[samples.length - 1]);
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      expect(h.mean).toBeCloseTo(mean, 6);
      const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length;
      expect(h.stdev / Math.sqrt(variance)).toBeCloseTo(1, 6);
    });
  }

  it('merges two histograms into the distribution of all their samples', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    const r = rng(7);
    for (let i = 0; i < 10_000; i++) {
      const v = Math.round(r() * 20_000);
      (i % 2 === 0 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    expect(a.count).toBe(all.count);
    for (const p of PERCENTILES) expect(a.percentile(p)).toBe(all.percentile(p));
    expect(a.buckets()).toEqual(all.buckets());
  });

  it('refuses to merge histograms of different precision', () => {
    expect(() => new LatencyHistogram(8).merge(new LatencyHistogram(5))).toThrow(/precision/);
  });

  it('lists non-empty buckets that contain their values and add up to the count', () => {
    const h = new LatencyHistogram();
    for (const v of [5, 5, 300, 1_000, 123_456, 9_999_999]) h.record(v);
    const buckets = h.buckets();
    expect(buckets.reduce((a, [, , c]) => a + c, 0)).toBe(6);
    for (const v of [5, 300, 1_000, 123_456, 9_999_999]) {
      expect(
        buckets.some(([lo, hi]) => v >= lo && v < hi),
        `value ${v}`,
      ).toBe(true);
    }
    for (const [lo, hi] of buckets)
      expect(hi - lo === 1 || (hi - lo) / lo <= 1 / 128, `bucket ${lo}..${hi}`).toBe(true);
  });

  it('clamps values beyond its range into the top bucket but keeps the exact max', () => {
    const h = new LatencyHistogram();
    h.record(2 ** 40);
    expect(h.max).toBe(2 ** 40);
    expect(h.percentile(50)).toBe(2 ** 40);
    expect(h.count).toBe(1);
  });

  it('counts negative values as zero and reports zeros when empty', () => {
    const h = new LatencyHistogram();
    expect([h.count, h.min, h.max, h.mean, h.stdev, h.percentile(99)]).toEqual([0, 0, 0, 0, 0, 0]);
    h.record(-5);
    expect(h.min).toBe(0);
    h.reset();
    expect(h.count).toBe(0);
  });

  it('rejects a precision outside 2..16', () => {
    expect(() => new LatencyHistogram(1)).toThrow(RangeError);
    expect(() => new LatencyHistogram(17)).toThrow(RangeError);
  });
});

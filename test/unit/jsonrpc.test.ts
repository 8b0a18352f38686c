import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readLines } from '../../src/jsonrpc/line-reader.js';
import { JsonRpcPeer, RemoteError } from '../../src/jsonrpc/peer.js';
import type { JsonRpcMessage } from '../../src/jsonrpc/types.js';
import { backoffDelay } from '../../src/upstreams/backoff.js';

describe('JsonRpcPeer', () => {
  function pair() {
    const sent: JsonRpcMessage[] = [];
    const invalid: string[] = [];
    const peer = new JsonRpcPeer({ send: (m) => sent.push(m), onInvalid: (raw) => invalid.push(raw) });
    return { peer, sent, invalid };
  }

  it('mints its own ids and matches responses to them', async () => {
    const { peer, sent } = pair();
    const a = peer.request('x', { n: 1 });
    const b = peer.request('x', { n: 2 });
    const [ma, mb] = sent as { id: number }[];
    expect(ma?.id).not.toBe(mb?.id);
    peer.receive({ jsonrpc: '2.0', id: mb?.id, result: { v: 'b' } });
    peer.receive({ jsonrpc: '2.0', id: ma?.id, error: { code: -32000, message: 'nope' } });
    await expect(b).resolves.toEqual({ v: 'b' });
    await expect(a).rejects.toBeInstanceOf(RemoteError);
  });

  it('relays progress for its minted token and sends notifications/cancelled on abort', async () => {
    const { peer, sent } = pair();
    const updates: number[] = [];
    const ac = new AbortController();
    const p = peer.request('slow', {}, { signal: ac.signal, onProgress: (u) => updates.push(u.progress) });
    const req = sent[0] as unknown as { id: number; params: { _meta: { progressToken: string } } };
    peer.receive({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: req.params._meta.progressToken, progress: 1 },
    });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'TG_CANCELLED' });
    expect(updates).toEqual([1]);
    expect(sent[1]).toMatchObject({ method: 'notifications/cancelled', params: { requestId: req.id } });
  });

  it('reports garbage and unknown response ids without throwing', () => {
    const { peer, invalid } = pair();
    peer.receiveLine('not json');
    peer.receiveLine('{"jsonrpc":"2.0","id":999,"result":{}}');
    peer.receiveLine('{"hello":1}');
    expect(invalid).toHaveLength(3);
  });

  it('rejects pending requests when closed', async () => {
    const { peer } = pair();
    const p = peer.request('x', {});
    peer.close(new Error('gone'));
    await expect(p).rejects.toThrow('gone');
    await expect(peer.request('y', {})).rejects.toThrow('gone');
  });
});

describe('readLines', () => {
  it('splits chunks into lines, across chunk boundaries, with CRLF, and delivers the tail at EOF', async () => {
    const s = new PassThrough();
    const lines: string[] = [];
    readLines(s, (l) => lines.push(l));
    const ended = new Promise((r) => s.once('end', r));
    s.write('{"a":1}\n{"b"');
    s.write(':2}\r\n\n{"c":3}');
    s.end();
    await ended;
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('drops an over-long line and keeps reading', async () => {
    const s = new PassThrough();
    const lines: string[] = [];
    const overflows: number[] = [];
    readLines(s, (l) => lines.push(l), { maxLineBytes: 10, onOverflow: (n) => overflows.push(n) });
    const ended = new Promise((r) => s.once('end', r));
    s.write('x'.repeat(25));
    s.write('yy\nok\n');
    s.end();
    await ended;
    expect(lines).toEqual(['ok']);
    expect(overflows).toEqual([27]);
  });
});

describe('backoff', () => {
  afterEach(() => vi.restoreAllMocks());
  it('grows exponentially within [half, full] of the capped delay', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, opts);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});

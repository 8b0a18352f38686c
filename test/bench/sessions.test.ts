import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchJson } from './helpers.js';

// A legacy Streamable HTTP server (raw node:http) whose sessions expire after a fixed number of calls: the
// call that finds its session gone gets 404, as the 2025-11-25 transport prescribes, and the client must
// initialize again.
const CALLS_PER_SESSION = 10;

let server: Server;
let url: string;
const sessions = new Map<string, number>();
let opened = 0;

function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const sid = req.headers['mcp-session-id'] as string | undefined;
      if (req.method === 'DELETE') {
        if (sid !== undefined) sessions.delete(sid);
        return reply(res, 200);
      }
      const msg = JSON.parse(raw) as { id?: number; method: string };
      if (msg.method === 'initialize') {
        const id = `s${++opened}`;
        sessions.set(id, 0);
        const result = {
          protocolVersion: '2025-11-25',
          capabilities: { tools: {} },
          serverInfo: { name: 'expiring', version: '1' },
        };
        return reply(res, 200, { jsonrpc: '2.0', id: msg.id, result }, { 'mcp-session-id': id });
      }
      if (sid === undefined || !sessions.has(sid)) {
        return reply(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      }
      if (msg.id === undefined) return reply(res, 202);
      const calls = sessions.get(sid)! + 1;
      if (calls === CALLS_PER_SESSION) {
        sessions.delete(sid);
        return reply(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      }
      sessions.set(sid, calls);
      return reply(res, 200, { jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: 'ok' }] } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/mcp`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('legacy HTTP sessions', () => {
  it('re-initializes a session the server forgot (404) and counts the failed calls as transport errors', async () => {
    const { report } = await benchJson(['--url', url, '--era', 'legacy', '--tool', 'echo', '-n', '50', '-c', '1']);
    const t = report.targets[0]!;
    // Each session serves 9 calls; the 10th finds it gone.
    expect(t.outcomes).toMatchObject({ total: 50, ok: 45, transportErrors: { http_404: 5 } });
    expect(t.sessionReinits).toBe(5);
    expect(t.topErrors[0]!.message).toBe('transport http_404: HTTP 404: Session not found');
    // One initial session plus one per re-initialization (the last may still be opening when the run ends).
    expect(opened).toBeGreaterThanOrEqual(5);
    expect(opened).toBeLessThanOrEqual(6);
  });
});

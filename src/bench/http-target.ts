/**
 * A Streamable HTTP target over an undici keep-alive pool (one connection per concurrent worker). Modern era:
 * stateless POSTs with the `_meta` envelope and `MCP-Protocol-Version`/`Mcp-Method`/`Mcp-Name` headers. Legacy
 * era: `--sessions N` sessions opened with `initialize`, requests spread over them in turn.
 */
import { connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { GatewayError } from '../errors.js';
import { classifyMessage, isObject, type JsonObject } from '../jsonrpc/types.js';
import { spawnGroup, type ChildGroup } from './child-group.js';
import {
  LEGACY_PROTOCOL_VERSION,
  MODERN_ERROR_CODES,
  MODERN_PROTOCOL_VERSION,
  initializeParams,
  modernMeta,
  versionFromUnsupported,
  type Era,
} from './era.js';
import type { PreparedOperation } from './operations.js';
import { bodyMessages } from './sse.js';
import { serverName } from './stdio-target.js';
import { classifyResult, oneLine, type BenchTarget, type CallOutcome, type ConnectInfo } from './target.js';

/** Options of an HTTP target. */
export interface HttpTargetOptions {
  url: string;
  era: Era | 'auto';
  /** Keep-alive connections in the pool: the run's concurrency. */
  connections: number;
  /** Legacy sessions to open (ignored on a modern target). */
  sessions: number;
  connectTimeoutMs: number;
  /** Extra headers on every request (e.g. authorization for a user's own deployment). */
  headers: Record<string, string>;
  /** A command that serves `url`: bench starts it, waits for the port, and stops it at the end. */
  start?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

interface Session {
  id: string | undefined;
  /** Set after a 404: the server forgot the session; the next call re-initializes it (spec: client MUST). */
  reopening: Promise<void> | undefined;
  stale: boolean;
}

/** Raw answer to one POST. */
interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  messages: unknown[];
  badBody: string | undefined;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)$/i;

/** True when the URL's host is this machine's loopback. */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK.test(url.hostname);
}

/** `=?base64?…?=` for header values that are not plain visible ASCII (streamable-http.mdx, Value Encoding). */
export function encodeHeaderValue(value: string): string {
  if (/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) return value;
  return `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** Bench's HTTP load client. */
export class HttpTarget implements BenchTarget {
  readonly description: string;
  private readonly url: URL;
  private readonly path: string;
  private pool: Pool | undefined;
  private group: ChildGroup | undefined;
  private exitedHow: string | undefined;
  private era: Era = 'legacy';
  private protocolVersion = LEGACY_PROTOCOL_VERSION;
  private meta: JsonObject | undefined;
  private sessions: Session[] = [];
  private turn = 0;
  private nextId = 1;
  private unmatched = 0;
  private reinits = 0;
  private readonly headerCache = new Map<string, Record<string, string>>();

  constructor(private readonly options: HttpTargetOptions) {
    try {
      this.url = new URL(options.url);
    } catch {
      throw new GatewayError('TG_CLI_USAGE', `--url: "${options.url}" is not a URL`);
    }
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new GatewayError(
        'TG_CLI_USAGE',
        `--url: only http:// and https:// endpoints are supported, got ${this.url.protocol}`,
      );
    }
    this.path = this.url.pathname + this.url.search;
    const where = isLoopbackUrl(this.url) ? 'this machine' : 'a REMOTE host';
    const started = options.start === undefined ? '' : ` (served by: ${options.start.join(' ')})`;
    this.description = `Streamable HTTP endpoint on ${where}: ${this.url.href}${started}`;
  }

  get unmatchedResponses(): number {
    return this.unmatched;
  }

  get lateResponses(): number {
    return 0; // an HTTP answer belongs to its own exchange: a timed-out one is simply dropped
  }

  get failure(): string | undefined {
    return this.exitedHow === undefined ? undefined : `the server process ${this.exitedHow}`;
  }

  get pid(): number | undefined {
    return this.group?.pid;
  }

  /** Legacy sessions that had to be re-initialized after a 404. */
  get sessionReinits(): number {
    return this.reinits;
  }

  /** The modern `_meta` envelope to prepare operations with (undefined on legacy). */
  get envelope(): JsonObject | undefined {
    return this.meta;
  }

  async connect(): Promise<ConnectInfo> {
    const started = performance.now();
    if (this.options.start !== undefined) await this.startServer(this.options.start);
    this.pool = new Pool(this.url.origin, {
      connections: Math.max(1, this.options.connections),
      pipelining: 1,
      connectTimeout: this.options.connectTimeoutMs,
      keepAliveTimeout: 30_000,
    });
    try {
      const info = await this.handshake();
      return { ...info, connectMs: performance.now() - started };
    } catch (err) {
      await this.close();
      if (err instanceof GatewayError) throw err;
      throw new GatewayError('TG_BENCH_TARGET_FAILED', `${this.url.href}: ${(err as Error).message}`);
    }
  }

  private async startServer(argv: readonly string[]): Promise<void> {
    try {
      this.group = await spawnGroup(argv, { pipeStdio: false, env: this.options.env, cwd: this.options.cwd });
    } catch (err) {
      throw new GatewayError('TG_BENCH_TARGET_FAILED', `cannot start ${argv[0]}: ${(err as Error).message}`);
    }
    const group = this.group;
    void group.exited.then((how) => {
      if (this.pool === undefined) return; // bench stopped it
      const tail = group.stderrTail().slice(-3);
      this.exitedHow = tail.length > 0 ? `${how} (stderr: ${tail.join(' | ')})` : how;
    });
    const port = Number(this.url.port || (this.url.protocol === 'https:' ? 443 : 80));
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const until = performance.now() + this.options.connectTimeoutMs;
    while (performance.now() < until) {
      if (this.group.hasExited) break;
      if (await portOpen(host, port)) return;
      await sleep(100);
    }
    const tail = this.group.stderrTail();
    await this.group.stop();
    const why = this.group.hasExited
      ? 'it exited'
      : `port ${port} did not open within ${this.options.connectTimeoutMs} ms`;
    const detail = tail.length > 0 ? `\n  server stderr (last lines):\n    ${tail.join('\n    ')}` : '';
    throw new GatewayError('TG_BENCH_TARGET_FAILED', `the server started with --start is not serving: ${why}${detail}`);
  }

  private async handshake(): Promise<Omit<ConnectInfo, 'connectMs'>> {
    const signal = AbortSignal.timeout(this.options.connectTimeoutMs);
    if (this.options.era !== 'legacy') {
      let version = MODERN_PROTOCOL_VERSION;
      for (let attempt = 0; attempt < 2; attempt++) {
        const meta = modernMeta(version);
        const headers = this.baseHeaders({ 'mcp-protocol-version': version, 'mcp-method': 'server/discover' });
        const ex = await this.post(
          headers,
          { jsonrpc: '2.0', id: 0, method: 'server/discover', params: { _meta: meta } },
          signal,
        );
        const answer = responseTo(ex.messages, 0);
        if (ex.status >= 200 && ex.status < 300 && answer !== undefined && isObject(answer['result'])) {
          this.era = 'modern';
          this.protocolVersion = version;
          this.meta = meta;
          return { era: 'modern', protocolVersion: version, ...serverName(answer['result']['_meta']) };
        }
        const error = answer !== undefined && isObject(answer['error']) ? answer['error'] : undefined;
        const code = typeof error?.['code'] === 'number' ? error['code'] : undefined;
        if (code === -32022) {
          const other = versionFromUnsupported(error?.['data']);
          if (other !== undefined && other !== version) {
            version = other;
            continue;
          }
        }
        if (code !== undefined && MODERN_ERROR_CODES.has(code)) {
          throw new GatewayError(
            'TG_BENCH_TARGET_FAILED',
            `the server is modern but refused the probe: ${code} ${String(error?.['message'])}`,
          );
        }
        if (this.options.era === 'modern') {
          throw new GatewayError(
            'TG_BENCH_TARGET_FAILED',
            `--era modern, but server/discover answered HTTP ${ex.status}`,
          );
        }
        break; // anything else identifies a legacy server (streamable-http.mdx, Backward Compatibility)
      }
    }
    this.era = 'legacy';
    const count = Math.max(1, this.options.sessions);
    this.sessions = Array.from({ length: count }, () => ({ id: undefined, reopening: undefined, stale: false }));
    const results = await Promise.all(this.sessions.map((s) => this.openSession(s, signal)));
    const first = results[0]!;
    this.protocolVersion =
      typeof first['protocolVersion'] === 'string' ? first['protocolVersion'] : LEGACY_PROTOCOL_VERSION;
    const opened = this.sessions.filter((s) => s.id !== undefined).length;
    return {
      era: 'legacy',
      protocolVersion: this.protocolVersion,
      sessions: opened,
      ...serverName(first['serverInfo']),
    };
  }

  /** `initialize` + `notifications/initialized` for one session; returns the initialize result. */
  private async openSession(session: Session, signal: AbortSignal): Promise<JsonObject> {
    const ex = await this.post(
      this.baseHeaders({}),
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: initializeParams() },
      signal,
    );
    const answer = responseTo(ex.messages, 0);
    if (ex.status < 200 || ex.status >= 300 || answer === undefined || !isObject(answer['result'])) {
      const why = answer !== undefined && isObject(answer['error']) ? `: ${String(answer['error']['message'])}` : '';
      throw new GatewayError('TG_BENCH_TARGET_FAILED', `initialize failed with HTTP ${ex.status}${why}`);
    }
    const sid = ex.headers['mcp-session-id'];
    session.id = typeof sid === 'string' ? sid : undefined;
    const version =
      typeof answer['result']['protocolVersion'] === 'string'
        ? answer['result']['protocolVersion']
        : LEGACY_PROTOCOL_VERSION;
    const headers = this.baseHeaders({
      'mcp-protocol-version': version,
      ...(session.id === undefined ? {} : { 'mcp-session-id': session.id }),
    });
    await this.post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' }, signal);
    session.stale = false;
    return answer['result'];
  }

  private baseHeaders(extra: Record<string, string>): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...this.options.headers,
      ...extra,
    };
  }

  /** Headers of `op` on session `index`, built once: the hot path only reads them. */
  private headersFor(op: PreparedOperation, index: number): Record<string, string> {
    const key = `${index}\u0000${op.label}`;
    let h = this.headerCache.get(key);
    if (h === undefined) {
      const extra: Record<string, string> = { 'mcp-protocol-version': this.protocolVersion };
      if (this.era === 'modern') {
        extra['mcp-method'] = op.method;
        if (op.headerName !== undefined) extra['mcp-name'] = encodeHeaderValue(op.headerName);
      } else {
        const id = this.sessions[index]?.id;
        if (id !== undefined) extra['mcp-session-id'] = id;
      }
      h = this.baseHeaders(extra);
      this.headerCache.set(key, h);
    }
    return h;
  }

  private async post(headers: Record<string, string>, message: JsonObject, signal: AbortSignal): Promise<Exchange> {
    const pool = this.pool!;
    const res = await pool.request({ path: this.path, method: 'POST', headers, body: JSON.stringify(message), signal });
    const text = await res.body.text();
    const contentType = res.headers['content-type'];
    try {
      const { messages, badEvents } = bodyMessages(typeof contentType === 'string' ? contentType : undefined, text);
      return {
        status: res.statusCode,
        headers: res.headers,
        messages,
        badBody: badEvents > 0 ? 'unparseable SSE event' : undefined,
      };
    } catch {
      return { status: res.statusCode, headers: res.headers, messages: [], badBody: 'body is not JSON' };
    }
  }

  async call(op: PreparedOperation, signal: AbortSignal): Promise<CallOutcome> {
    let index = 0;
    let session: Session | undefined;
    if (this.era === 'legacy' && this.sessions.length > 0) {
      index = this.turn++ % this.sessions.length;
      session = this.sessions[index]!;
      if (session.reopening !== undefined) await session.reopening;
    }
    const id = this.nextId++;
    const params = op.nextParams();
    const message: JsonObject =
      params === undefined
        ? { jsonrpc: '2.0', id, method: op.method }
        : { jsonrpc: '2.0', id, method: op.method, params };
    let ex: Exchange;
    try {
      ex = await this.post(this.headersFor(op, index), message, signal);
    } catch (err) {
      if (signal.aborted) return { kind: 'timeout' };
      const e = err as { code?: unknown; message?: unknown };
      const reason = typeof e.code === 'string' ? e.code : 'connection_error';
      return { kind: 'transport_error', reason, message: oneLine(String(e.message)) };
    }
    const answer = responseTo(ex.messages, id);
    if (answer !== undefined) {
      if (isObject(answer['error'])) {
        const code = typeof answer['error']['code'] === 'number' ? answer['error']['code'] : 0;
        return { kind: 'rpc_error', code, message: oneLine(String(answer['error']['message'])) };
      }
      if (ex.status >= 200 && ex.status < 300) return classifyResult(op, answer['result']);
    }
    if (ex.status === 404 && session !== undefined && session.id !== undefined) this.reopen(session, index);
    if (ex.status < 200 || ex.status >= 300) {
      // A JSON-RPC error without our id (e.g. id null on a 400) still names the protocol problem.
      const error = ex.messages.find((m) => isObject(m) && isObject(m['error'])) as JsonObject | undefined;
      const detail = error !== undefined && isObject(error['error']) ? `: ${String(error['error']['message'])}` : '';
      return { kind: 'transport_error', reason: `http_${ex.status}`, message: oneLine(`HTTP ${ex.status}${detail}`) };
    }
    if (ex.badBody !== undefined) return { kind: 'invalid', reason: ex.badBody };
    const others = ex.messages.filter((m) => {
      const kind = classifyMessage(m);
      return kind === 'success' || kind === 'failure';
    });
    if (others.length > 0) {
      this.unmatched += others.length;
      return { kind: 'invalid', reason: "response carries another request's id" };
    }
    return { kind: 'invalid', reason: 'no JSON-RPC response in the body' };
  }

  /** Re-initializes a session the server no longer knows (404), once, while its calls wait. */
  private reopen(session: Session, index: number): void {
    if (session.reopening !== undefined || session.stale) return;
    session.stale = true;
    this.reinits++;
    session.reopening = this.openSession(session, AbortSignal.timeout(this.options.connectTimeoutMs))
      .catch(() => undefined)
      .then(() => {
        for (const key of [...this.headerCache.keys()])
          if (key.startsWith(`${index}\u0000`)) this.headerCache.delete(key);
        session.reopening = undefined;
      });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) {
      // Polite legacy clients end their sessions (DELETE); servers that do not support it answer 405.
      await Promise.all(
        this.sessions
          .filter((s) => s.id !== undefined)
          .map((s) =>
            pool
              .request({
                path: this.path,
                method: 'DELETE',
                headers: this.baseHeaders({ 'mcp-session-id': s.id!, 'mcp-protocol-version': this.protocolVersion }),
                signal: AbortSignal.timeout(2000),
              })
              .then((r) => r.body.dump())
              .catch(() => undefined),
          ),
      );
      this.sessions = [];
      await pool.close().catch(() => undefined);
    }
    await this.group?.stop();
  }
}

/** The JSON-RPC response with `id` among `messages`, if any. */
function responseTo(messages: unknown[], id: number): JsonObject | undefined {
  for (const m of messages) {
    if (isObject(m) && m['id'] === id && ('result' in m || 'error' in m)) return m;
  }
  return undefined;
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

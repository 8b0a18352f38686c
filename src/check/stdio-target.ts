import { spawn, type ChildProcess } from 'node:child_process';
import { JsonRpcPeer, RemoteError } from '../jsonrpc/peer.js';
import { readLines } from '../jsonrpc/line-reader.js';
import { classifyMessage, type JsonObject, type JsonRpcMessage } from '../jsonrpc/types.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  RequestTimeoutError,
  TargetError,
  identityFromDiscover,
  identityFromInitialize,
  initializeParams,
  isPlainObject,
  sleep,
  withEnvelope,
  withTimeout,
  type Era,
  type McpTarget,
  type RpcOptions,
  type ServerIdentity,
} from './target.js';

/** How the server process ended when the checker closed it. */
export interface ShutdownResult {
  /** What it took: stdin EOF alone, SIGTERM, or SIGKILL. */
  how: 'stdin' | 'sigterm' | 'sigkill' | 'already-exited';
  /** Milliseconds from closing stdin to exit. */
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One line the server wrote to stdout, with what it was. */
export interface StdoutLine {
  line: string;
  kind: 'jsonrpc' | 'garbage';
}

/** Options of `spawnStdioTarget`. */
export interface StdioSpawnOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  era: Era | 'auto';
  timeoutMs: number;
  /** How long the era probe waits for an answer to `server/discover` before assuming legacy. */
  probeTimeoutMs?: number;
  /** Grace between shutdown steps (stdin EOF → SIGTERM → SIGKILL). */
  shutdownGraceMs?: number;
}

const MAX_CAPTURE_CHARS = 4 * 1024 * 1024;
const MAX_LINES = 20_000;

/** A spawned stdio MCP server: process group, JSON-RPC peer, and full capture of what it wrote. */
export class StdioTarget implements McpTarget {
  readonly kind = 'stdio' as const;
  era: Era = 'legacy';
  identity: ServerIdentity = { protocolVersion: 'unknown', capabilities: {} };
  /** Every stdout line (capped), classified. */
  readonly stdout: StdoutLine[] = [];
  /** Messages that matched no pending request: notifications and unsolicited responses. */
  readonly unsolicited: JsonRpcMessage[] = [];
  stderr = '';
  /** Milliseconds from spawn to the completed handshake (probe wait excluded). */
  startupMs = 0;
  /** Milliseconds from spawn to the first JSON-RPC line on stdout. */
  firstAnswerMs: number | undefined;
  private readonly spawnedAt = Date.now();
  private readonly peer: JsonRpcPeer;
  private readonly child: ChildProcess;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private captured = 0;
  private waiters: { match: (m: JsonRpcMessage) => boolean; resolve: (m: JsonRpcMessage) => void }[] = [];
  private shutdownResult: ShutdownResult | undefined;
  private spawnError: Error | undefined;

  private constructor(private readonly options: StdioSpawnOptions) {
    this.child = spawn(options.command, options.args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group: shutdown and cleanup reach grandchildren too (npx → node → server).
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.peer.close(
          new TargetError(`the server process exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`),
        );
        resolve();
      });
      this.child.once('error', (err) => {
        this.spawnError = err;
        this.exitInfo = { code: null, signal: null };
        this.peer.close(new TargetError(`cannot start ${options.command}: ${err.message}`));
        resolve();
      });
    });
    this.peer = new JsonRpcPeer({
      send: (m) => this.writeLine(JSON.stringify(m)),
      onNotification: (n) => this.pushUnsolicited(n),
      onInvalid: (raw) => {
        try {
          const v: unknown = JSON.parse(raw);
          if (classifyMessage(v) !== 'invalid') this.pushUnsolicited(v as JsonRpcMessage);
        } catch {
          // garbage lines are recorded by the stdout reader
        }
      },
      // A server→client request (sampling, elicitation, roots): the checker declares no client capabilities.
      onRequest: () => Promise.reject(new RemoteError(-32601, 'toolgate check does not serve client requests')),
      tokenPrefix: 'tgc',
    });
    this.child.stdin?.on('error', () => undefined); // EPIPE when the server is gone
    if (this.child.stdout !== null) {
      readLines(this.child.stdout, (line) => this.onLine(line));
    }
    this.child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < MAX_CAPTURE_CHARS) this.stderr += chunk.toString('utf8');
    });
  }

  /** Spawns the server and completes the era's handshake; throws `TargetError` with the reason when it cannot. */
  static async start(options: StdioSpawnOptions): Promise<StdioTarget> {
    let target = new StdioTarget(options);
    try {
      if (options.era !== 'legacy') {
        const modern = await target.probeModern(options.probeTimeoutMs ?? 3000);
        if (modern !== undefined) {
          target.era = 'modern';
          target.identity = modern;
          target.startupMs = target.firstAnswerMs ?? 0;
          return target;
        }
        if (options.era === 'modern') {
          throw new TargetError('the server did not answer server/discover with 2026-07-28 (forced --era modern)');
        }
        if (!target.alive()) {
          // Some servers exit on any request before `initialize`: start a fresh process for the legacy handshake.
          await target.close();
          target = new StdioTarget(options);
        }
      }
      const legacyStart = Date.now();
      const result = await target.rawRequest('initialize', initializeParams(), options.timeoutMs);
      target.identity = identityFromInitialize(result);
      target.era = 'legacy';
      await target.notify('notifications/initialized');
      // A silent probe hides the start-up time; then the initialize round trip is the best figure we have.
      target.startupMs = target.firstAnswerMs ?? Date.now() - legacyStart;
      return target;
    } catch (err) {
      const reason = target.describeFailure(err);
      await target.close();
      throw new TargetError(reason);
    }
  }

  private async probeModern(timeoutMs: number): Promise<ServerIdentity | undefined> {
    try {
      const result = await this.rawRequest('server/discover', withEnvelope('modern', {}), timeoutMs);
      return identityFromDiscover(result);
    } catch (err) {
      if (this.spawnError !== undefined) throw err;
      // The fallback must not depend on one error code: any error or silence means "not modern".
      return undefined;
    }
  }

  private rawRequest(method: string, params: JsonObject | undefined, timeoutMs: number): Promise<JsonObject> {
    return this.bounded(method, timeoutMs, (signal) => this.peer.request(method, params, { signal }));
  }

  /**
   * Runs a peer request under a time bound. On timeout the request is cancelled (notifications/cancelled) and the
   * caller gets a RequestTimeoutError, not the peer's cancellation error.
   */
  private async bounded(
    method: string,
    timeoutMs: number,
    run: (signal: AbortSignal) => Promise<JsonObject>,
    outer?: AbortSignal,
  ): Promise<JsonObject> {
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let timedOut = false;
    const timeoutError = new RequestTimeoutError(method, timeoutMs);
    try {
      return await withTimeout(run(ac.signal), timeoutMs, () => {
        timedOut = true;
        ac.abort(timeoutError);
        return timeoutError;
      });
    } catch (err) {
      throw timedOut ? timeoutError : err;
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Sends a request with the era's envelope, bounded by `timeoutMs` (cancelled on timeout). */
  request(method: string, params?: JsonObject, options: RpcOptions = {}): Promise<JsonObject> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const envelope = withEnvelope(this.era, params);
    return this.bounded(
      method,
      timeoutMs,
      (signal) =>
        this.peer.request(
          method,
          envelope,
          options.onProgress === undefined ? { signal } : { signal, onProgress: options.onProgress },
        ),
      options.signal,
    );
  }

  /** Sends a notification. */
  notify(method: string, params?: JsonObject): Promise<void> {
    this.peer.notify(method, this.era === 'modern' ? withEnvelope('modern', params) : params);
    return Promise.resolve();
  }

  /** Writes one raw line to the server's stdin (for malformed-input probes). */
  sendRaw(line: string): void {
    this.writeLine(line);
  }

  /** Waits for an unsolicited message matching `match` (received after index `since`, or arriving within `ms`). */
  async expectUnsolicited(
    match: (m: JsonRpcMessage) => boolean,
    ms: number,
    since = 0,
  ): Promise<JsonRpcMessage | undefined> {
    const seen = this.unsolicited.slice(since).find(match);
    if (seen !== undefined) return seen;
    let waiter: (typeof this.waiters)[number] | undefined;
    const arrived = new Promise<JsonRpcMessage>((resolve) => {
      waiter = { match, resolve };
      this.waiters.push(waiter);
    });
    try {
      return await Promise.race([arrived, sleep(ms).then(() => undefined)]);
    } finally {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    }
  }

  /** True while the process runs. */
  alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Exit code and signal, once exited. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** Closes stdin, then escalates to SIGTERM and SIGKILL of the process group; reports what it took. */
  async shutdown(): Promise<ShutdownResult> {
    if (this.shutdownResult !== undefined) return this.shutdownResult;
    const grace = this.options.shutdownGraceMs ?? 2000;
    const start = Date.now();
    const done = (how: ShutdownResult['how']): ShutdownResult => {
      this.shutdownResult = {
        how,
        ms: Date.now() - start,
        code: this.exitInfo?.code ?? null,
        signal: this.exitInfo?.signal ?? null,
      };
      return this.shutdownResult;
    };
    if (!this.alive()) {
      this.killGroup('SIGKILL'); // grandchildren may outlive the leader
      return done('already-exited');
    }
    this.child.stdin?.end();
    if (await this.waitExit(grace)) {
      this.killGroup('SIGKILL');
      return done('stdin');
    }
    this.killGroup('SIGTERM');
    if (await this.waitExit(grace)) {
      this.killGroup('SIGKILL');
      return done('sigterm');
    }
    this.killGroup('SIGKILL');
    await this.waitExit(grace);
    return done('sigkill');
  }

  /** Shuts the server down (if not yet) and releases everything. */
  async close(): Promise<void> {
    await this.shutdown();
    this.peer.close(new TargetError('closed'));
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (!this.alive()) return true;
    await Promise.race([this.exited, sleep(ms)]);
    return !this.alive();
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // group already gone
    }
  }

  private writeLine(line: string): void {
    const stdin = this.child.stdin;
    if (stdin === null || stdin.destroyed || stdin.writableEnded) return;
    stdin.write(line + '\n');
  }

  private onLine(line: string): void {
    let kind: StdoutLine['kind'] = 'garbage';
    let value: unknown;
    try {
      value = JSON.parse(line);
      if (classifyMessage(value) !== 'invalid') kind = 'jsonrpc';
    } catch {
      // garbage: recorded below
    }
    if (this.stdout.length < MAX_LINES && this.captured < MAX_CAPTURE_CHARS) {
      this.stdout.push({ line, kind });
      this.captured += line.length;
    }
    if (kind === 'jsonrpc') {
      this.firstAnswerMs ??= Date.now() - this.spawnedAt;
      this.peer.receive(value, line);
    }
  }

  private pushUnsolicited(m: JsonRpcMessage): void {
    if (this.unsolicited.length < MAX_LINES) this.unsolicited.push(m);
    for (const w of this.waiters) {
      if (w.match(m)) w.resolve(m);
    }
  }

  private describeFailure(err: unknown): string {
    if (this.spawnError !== undefined) return `cannot start ${this.options.command}: ${this.spawnError.message}`;
    const garbage = this.stdout.filter((l) => l.kind === 'garbage').map((l) => l.line);
    const parts: string[] = [];
    if (err instanceof RequestTimeoutError)
      parts.push(`the server did not answer the handshake within ${err.timeoutMs} ms`);
    else if (err instanceof RemoteError) parts.push(`the server rejected the handshake: ${err.code} ${err.message}`);
    else parts.push(err instanceof Error ? err.message : String(err));
    if (garbage.length > 0)
      parts.push(`stdout is not JSON-RPC (first line: ${JSON.stringify(garbage[0]?.slice(0, 120))})`);
    const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
    if (tail.length > 0) parts.push(`stderr: ${tail.slice(0, 300)}`);
    return parts.join('; ');
  }
}

/** True when `v` looks like a JSON-RPC response to `id`. */
export function isResponseTo(id: string | number): (m: JsonRpcMessage) => boolean {
  return (m) => isPlainObject(m) && 'id' in m && (m as { id: unknown }).id === id && ('result' in m || 'error' in m);
}

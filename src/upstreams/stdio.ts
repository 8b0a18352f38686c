import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { GatewayError, isGatewayError } from '../errors.js';
import { JsonRpcPeer, RemoteError } from '../jsonrpc/peer.js';
import { createBatchedLineWriter } from '../jsonrpc/batched-writer.js';
import { readLines } from '../jsonrpc/line-reader.js';
import type { JsonObject, JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/types.js';
import type { StdioUpstreamConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Era, UpstreamCallOptions, UpstreamCloseOptions } from '../types.js';
import { SupervisedUpstream } from './supervised.js';
import { handshake, modernEnvelope, type ClientIdentity } from './handshake.js';

/** Environment variables a stdio child inherits by default (the rest must be configured). */
export const DEFAULT_INHERITED_ENV = [
  'HOME',
  'LOGNAME',
  'PATH',
  'SHELL',
  'TERM',
  'USER',
  'LANG',
  'TMPDIR',
  'TZ',
  'NODE_EXTRA_CA_CERTS',
];

const STDERR_LINE_MAX = 4096;

/** Options of a `StdioUpstream`. */
export interface StdioUpstreamOptions {
  name: string;
  config: StdioUpstreamConfig;
  /** Directory relative `cwd` resolves against (the config file's directory). */
  dir: string;
  logger: Logger;
  client: ClientIdentity;
  /** Environment the allowlist reads from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

interface Child {
  process: ChildProcess;
  peer: JsonRpcPeer;
  exited: Promise<void>;
  hasExited: boolean;
  /** Writes the stdin lines still queued by the batched writer (before stdin is ended). */
  flush: () => void;
}

/** Every live child process group, killed synchronously if the gateway process exits without stopping them. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of liveGroups) killGroup(g, 'SIGKILL');
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * A local MCP server spawned as a child process, shared by all clients.
 *
 * The child runs in its own process group with an allowlisted environment; its stderr goes to the log; a crash
 * fails in-flight calls, then the child is restarted with exponential backoff up to a bounded number of tries,
 * after which the upstream is `down` (and retried every `recoverAfterMs`). Stop closes stdin, then SIGTERMs and
 * finally SIGKILLs the whole group.
 */
export class StdioUpstream extends SupervisedUpstream {
  readonly kind = 'stdio' as const;
  private child: Child | undefined;
  private eraVerdict: Era | undefined;

  constructor(private readonly options: StdioUpstreamOptions) {
    super(options.name, options.logger, options.config.restart, options.config.startupTimeoutMs);
    if (options.config.era !== 'auto') this.eraVerdict = options.config.era;
  }

  protected startOnce(): Promise<void> {
    return this.spawnAndHandshake();
  }

  /** PID of the current child (its process group id), for tests and diagnostics. */
  get pid(): number | undefined {
    return this.child?.process.pid;
  }

  async call(method: string, params: JsonObject | undefined, options: UpstreamCallOptions = {}): Promise<JsonObject> {
    if (this.lifecycle.state !== 'up') await this.lifecycle.waitUntilUp(options.signal);
    const child = this.child;
    const info = this._info;
    if (child === undefined || info === undefined) throw this.lifecycle.unavailable();
    const outParams =
      info.era === 'modern'
        ? {
            ...(params ?? {}),
            _meta: {
              ...((params?.['_meta'] as JsonObject | undefined) ?? {}),
              ...modernEnvelope(info.protocolVersion, this.options.client),
            },
          }
        : params;
    const release = this.router.enter(options);
    try {
      const peerOptions: { signal?: AbortSignal; onProgress?: UpstreamCallOptions['onProgress'] } = {};
      if (options.signal !== undefined) peerOptions.signal = options.signal;
      if (options.onProgress !== undefined) peerOptions.onProgress = options.onProgress;
      return await child.peer.request(method, outParams, peerOptions);
    } finally {
      release();
    }
  }

  async close(options: UpstreamCloseOptions = {}): Promise<void> {
    this.lifecycle.stop();
    const child = this.child;
    if (child === undefined) return;
    await this.stopChild(child, options.graceMs ?? this.options.config.stopTimeoutMs);
    child.peer.close(new GatewayError('TG_UPSTREAM_UNAVAILABLE', `upstream ${this.name} stopped`));
  }

  destroy(): void {
    this.lifecycle.stop();
    const child = this.child;
    if (child === undefined) return;
    child.peer.close(new GatewayError('TG_UPSTREAM_UNAVAILABLE', `upstream ${this.name} stopped`));
    if (child.process.pid !== undefined) killGroup(child.process.pid, 'SIGKILL');
  }

  private buildEnv(): NodeJS.ProcessEnv {
    const source = this.options.env ?? process.env;
    const env: NodeJS.ProcessEnv = {};
    for (const key of [...DEFAULT_INHERITED_ENV, ...this.options.config.inheritEnv]) {
      const v = source[key];
      if (v !== undefined) env[key] = v;
    }
    return { ...env, ...this.options.config.env };
  }

  private spawnChild(): Child {
    const cfg = this.options.config;
    const cwd = resolve(this.options.dir, cfg.cwd ?? '.');
    const proc = spawn(cfg.command, cfg.args, {
      cwd,
      env: this.buildEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group: stop signals reach every descendant (npx → node …)
      windowsHide: true,
    });
    const writeLine = proc.stdin ? createBatchedLineWriter(proc.stdin) : undefined;
    const peer = new JsonRpcPeer({
      send: (msg: JsonRpcMessage) => writeLine?.(JSON.stringify(msg)),
      onNotification: (n) => this.onChildNotification(n.method, n.params),
      onRequest: (req, ctx) => this.onChildRequest(req, ctx.signal),
      onInvalid: (raw, reason) => {
        this.log.warn({ line: raw.slice(0, 500), reason }, 'upstream wrote a non-JSON-RPC line to stdout (ignored)');
      },
      tokenPrefix: `tg-${this.name}`,
    });
    let resolveExit: () => void = () => {};
    const exited = new Promise<void>((r) => (resolveExit = r));
    const child: Child = {
      process: proc,
      peer,
      exited,
      hasExited: false,
      flush: () => writeLine?.flush(),
    };
    if (proc.pid !== undefined) trackGroup(proc.pid);
    proc.stdin?.on('error', () => {}); // EPIPE after the child exits: handled by the exit path
    if (proc.stdout) readLines(proc.stdout, (line) => peer.receiveLine(line));
    if (proc.stderr) {
      readLines(proc.stderr, (line) => {
        this.log.info(
          { stream: 'stderr' },
          line.length > STDERR_LINE_MAX ? line.slice(0, STDERR_LINE_MAX) + '…' : line,
        );
      });
    }
    const onGone = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (child.hasExited) return;
      child.hasExited = true;
      if (proc.pid !== undefined) {
        liveGroups.delete(proc.pid);
        // The leader is gone; make sure no descendant in its group outlives it.
        if (killGroup(proc.pid, 'SIGTERM')) setTimeout(() => killGroup(proc.pid as number, 'SIGKILL'), 500).unref();
      }
      resolveExit();
      this.onChildExit(child, code, signal, error);
    };
    proc.once('exit', (code, signal) => onGone(code, signal));
    proc.once('error', (err) => onGone(null, null, err));
    return child;
  }

  /** Spawns a child and negotiates the era; the lifecycle calls it for the first start and every restart. */
  private async spawnAndHandshake(): Promise<void> {
    const cfg = this.options.config;
    this._info = undefined;
    const child = this.spawnChild();
    this.child = child;
    this.log.info({ command: cfg.command, args: cfg.args, pid: child.process.pid }, 'spawned stdio upstream');
    const exitedEarly = child.exited.then(() => {
      throw new GatewayError('TG_UPSTREAM_UNAVAILABLE', `upstream ${this.name} exited during startup`);
    });
    exitedEarly.catch(() => {});
    try {
      const info = await Promise.race([
        handshake(
          {
            request: (method, params, signal) => child.peer.request(method, params, { signal }),
            notify: (method, params) => child.peer.notify(method, params),
          },
          {
            era: this.eraVerdict ?? 'auto',
            client: this.options.client,
            signal: AbortSignal.timeout(cfg.startupTimeoutMs),
          },
        ),
        exitedEarly,
      ]);
      if (child.hasExited || this.lifecycle.isStopped) {
        throw new GatewayError('TG_UPSTREAM_UNAVAILABLE', `upstream ${this.name} stopped during startup`);
      }
      this.eraVerdict = info.era;
      this._info = info;
      this.log.info(
        { era: info.era, protocolVersion: info.protocolVersion, serverInfo: info.serverInfo },
        'upstream up',
      );
    } catch (err) {
      if (!child.hasExited && child.process.pid !== undefined) killGroup(child.process.pid, 'SIGKILL');
      if (err instanceof RemoteError) {
        throw new GatewayError('TG_UPSTREAM_PROTOCOL', `upstream ${this.name} refused the handshake: ${err.message}`, {
          cause: err,
        });
      }
      if (isGatewayError(err)) throw err;
      throw new GatewayError(
        'TG_UPSTREAM_UNAVAILABLE',
        `upstream ${this.name} failed to start: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private onChildExit(child: Child, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    const how = error ? error.message : signal ? `signal ${signal}` : `exit code ${String(code)}`;
    child.peer.failPending(
      new GatewayError(
        'TG_UPSTREAM_CRASHED',
        `The upstream "${this.name}" exited while the call was in flight (${how}). It is being restarted; try again.`,
        { retryAfterMs: 1000 },
      ),
    );
    if (this.child !== child || this.lifecycle.isStopped) return;
    this.log.warn({ code, signal, error: error?.message }, 'upstream exited');
    // During (re)start the handshake path sees the exit and reports the failure itself.
    if (this.lifecycle.state === 'up') {
      this._info = undefined;
      this.lifecycle.failed(`exited (${how})`);
    }
  }

  private async stopChild(child: Child, grace: number): Promise<void> {
    const pid = child.process.pid;
    // Messages sent in this turn (e.g. a subscription released by a closing session) are still queued: write them first.
    child.flush();
    child.process.stdin?.end();
    if (await exitsWithin(child, grace)) return;
    if (pid !== undefined) killGroup(pid, 'SIGTERM');
    if (await exitsWithin(child, grace)) return;
    this.log.warn({ pid }, 'upstream ignored SIGTERM; sending SIGKILL');
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    await exitsWithin(child, grace);
  }

  private onChildNotification(method: string, params: JsonObject | undefined): void {
    if (method === 'notifications/message') {
      if (this.router.notify(method, params)) return;
      this.log.info({ upstreamLog: params }, 'upstream log message');
    }
    this.listener?.onNotification(this, method, params);
  }

  private onChildRequest(req: JsonRpcRequest, signal: AbortSignal): Promise<JsonObject> {
    if (req.method === 'ping') return Promise.resolve({});
    return this.router.request(req, signal, this.name);
  }
}

function exitsWithin(child: Child, ms: number): Promise<boolean> {
  if (child.hasExited) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    t.unref();
    void child.exited.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * A stdio target: one child process (its own process group), one JSON-RPC connection shared by every concurrent
 * request. Requests are multiplexed by id through `JsonRpcPeer`; a response to an id not in flight is counted.
 */
import { GatewayError } from '../errors.js';
import { readLines } from '../jsonrpc/line-reader.js';
import { JsonRpcPeer, RemoteError } from '../jsonrpc/peer.js';
import type { JsonObject, JsonRpcMessage } from '../jsonrpc/types.js';
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
import { classifyResult, oneLine, type BenchTarget, type CallOutcome, type ConnectInfo } from './target.js';

/** Options of a stdio target. */
export interface StdioTargetOptions {
  argv: readonly string[];
  era: Era | 'auto';
  /** Bound on spawning plus the era probe and handshake. */
  connectTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Bench's stdio load client. */
export class StdioTarget implements BenchTarget {
  readonly description: string;
  private group: ChildGroup | undefined;
  private peer: JsonRpcPeer | undefined;
  private unmatched = 0;
  private late = 0;
  /** Id of the request most recently written: `peer.request` sends synchronously, so the caller can read it. */
  private lastSentId: string | number | undefined;
  /** Ids of requests that timed out; their answers may still arrive and are not correctness failures. */
  private readonly abandoned = new Set<string | number>();
  private failed: string | undefined;
  private meta: JsonObject | undefined;
  private era: Era = 'legacy';

  constructor(private readonly options: StdioTargetOptions) {
    this.description = `stdio child process: ${options.argv.join(' ')}`;
  }

  get unmatchedResponses(): number {
    return this.unmatched;
  }

  readonly sessionReinits = 0;

  /** Answers that arrived after their request had timed out. */
  get lateResponses(): number {
    return this.late;
  }

  get failure(): string | undefined {
    return this.failed;
  }

  get pid(): number | undefined {
    return this.group?.pid;
  }

  /** The modern `_meta` envelope to prepare operations with (undefined on legacy). */
  get envelope(): JsonObject | undefined {
    return this.meta;
  }

  async connect(): Promise<ConnectInfo> {
    const started = performance.now();
    let group: ChildGroup;
    try {
      group = await spawnGroup(this.options.argv, { pipeStdio: true, env: this.options.env, cwd: this.options.cwd });
    } catch (err) {
      throw new GatewayError(
        'TG_BENCH_TARGET_FAILED',
        `cannot start ${this.options.argv[0]}: ${(err as Error).message}`,
      );
    }
    this.group = group;
    const stdin = group.child.stdin!;
    const peer = new JsonRpcPeer({
      send: (message: JsonRpcMessage) => {
        if ('id' in message && 'method' in message) this.lastSentId = message.id;
        if (!stdin.writable) return;
        // Requests sent in one tick (a worker batch after a batch of answers) leave in one write.
        if (stdin.writableCorked === 0) {
          stdin.cork();
          process.nextTick(() => stdin.uncork());
        }
        stdin.write(JSON.stringify(message) + '\n');
      },
      // A server may ping its client or ask for roots; answer ping, refuse the rest (bench declares no capabilities).
      onRequest: async (req) => {
        if (req.method === 'ping') return {};
        throw new RemoteError(-32601, `Method not found: ${req.method}`);
      },
      onInvalid: (raw) => this.onStray(raw),
      tokenPrefix: 'bench',
    });
    this.peer = peer;
    readLines(group.child.stdout!, (line) => peer.receiveLine(line));
    void group.exited.then((how) => {
      this.failed = `the server process ${how}`;
      peer.close(new GatewayError('TG_BENCH_TARGET_FAILED', this.failed));
    });

    const deadline = AbortSignal.timeout(this.options.connectTimeoutMs);
    try {
      const info = await this.handshake(peer, deadline);
      return { ...info, connectMs: performance.now() - started };
    } catch (err) {
      const stderr = group.stderrTail();
      await this.close();
      const why = deadline.aborted ? `no answer within ${this.options.connectTimeoutMs} ms` : (err as Error).message;
      const detail = stderr.length > 0 ? `\n  server stderr (last lines):\n    ${stderr.join('\n    ')}` : '';
      throw new GatewayError(
        'TG_BENCH_TARGET_FAILED',
        `the stdio server did not complete the MCP handshake: ${why}${detail}`,
      );
    }
  }

  private async handshake(peer: JsonRpcPeer, signal: AbortSignal): Promise<Omit<ConnectInfo, 'connectMs'>> {
    if (this.options.era !== 'legacy') {
      // Era probe (stdio.mdx, Backward Compatibility): server/discover first; any non-modern error means legacy.
      // The probe gets a share of the connect budget so a silent legacy server still leaves time to initialize.
      const probeSignal = AbortSignal.any([
        signal,
        AbortSignal.timeout(Math.max(1000, this.options.connectTimeoutMs / 3)),
      ]);
      let version = MODERN_PROTOCOL_VERSION;
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const result = await peer.request('server/discover', { _meta: modernMeta(version) }, { signal: probeSignal });
          this.era = 'modern';
          this.meta = modernMeta(version);
          return { era: 'modern', protocolVersion: version, ...serverName(result['_meta']) };
        } catch (err) {
          if (signal.aborted) throw err;
          const other =
            err instanceof RemoteError && err.code === -32022 ? versionFromUnsupported(err.data) : undefined;
          if (other !== undefined && other !== version) {
            version = other;
            continue;
          }
          if (err instanceof RemoteError && MODERN_ERROR_CODES.has(err.code)) {
            throw new Error(`the server is modern but refused the probe: ${err.code} ${err.message}`);
          }
          if (this.options.era === 'modern') {
            throw new Error(`--era modern, but server/discover failed: ${(err as Error).message}`);
          }
          break; // legacy
        }
      }
    }
    const result = await peer.request('initialize', initializeParams(LEGACY_PROTOCOL_VERSION), { signal });
    peer.notify('notifications/initialized');
    this.era = 'legacy';
    const version = typeof result['protocolVersion'] === 'string' ? result['protocolVersion'] : LEGACY_PROTOCOL_VERSION;
    return { era: 'legacy', protocolVersion: version, ...serverName(result['serverInfo']) };
  }

  async call(op: PreparedOperation, signal: AbortSignal): Promise<CallOutcome> {
    const peer = this.peer;
    if (peer === undefined || this.failed !== undefined) {
      return { kind: 'transport_error', reason: 'process_exited', message: this.failed ?? 'not connected' };
    }
    const pending = peer.request(op.method, op.nextParams(), { signal });
    const id = this.lastSentId;
    try {
      return classifyResult(op, await pending);
    } catch (err) {
      if (err instanceof RemoteError) return { kind: 'rpc_error', code: err.code, message: oneLine(err.message) };
      if (signal.aborted) {
        if (id !== undefined) this.abandoned.add(id);
        return { kind: 'timeout' };
      }
      return { kind: 'transport_error', reason: 'process_exited', message: oneLine((err as Error).message) };
    }
  }

  /** A line the peer could not match: a late answer to a timed-out request, or a real correctness failure. */
  private onStray(raw: string): void {
    let id: unknown;
    try {
      id = (JSON.parse(raw) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    if ((typeof id === 'string' || typeof id === 'number') && this.abandoned.delete(id)) this.late++;
    else this.unmatched++;
  }

  async close(): Promise<void> {
    this.peer?.close(new GatewayError('TG_BENCH_TARGET_FAILED', 'bench closed the connection'));
    await this.group?.stop();
  }
}

/** Reads `{ name, version }` (legacy serverInfo, or modern `_meta` serverInfo) into a display string. */
export function serverName(value: unknown): { server?: string } {
  if (typeof value !== 'object' || value === null) return {};
  const v = value as Record<string, unknown>;
  const info = (v['io.modelcontextprotocol/serverInfo'] ?? v) as Record<string, unknown>;
  if (typeof info['name'] !== 'string') return {};
  return { server: typeof info['version'] === 'string' ? `${info['name']} ${info['version']}` : info['name'] };
}

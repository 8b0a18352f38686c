import { RemoteError } from '../jsonrpc/peer.js';
import type { JsonObject, JsonRpcRequest } from '../jsonrpc/types.js';
import type { UpstreamCallOptions } from '../types.js';

/**
 * Routes what a shared upstream sends back during calls — requests (sampling, elicitation) and log messages —
 * to the client call they belong to. Over a shared connection MCP gives no relation between a server request and
 * the client request that caused it, so a message is routed only when exactly one call that can take it is in
 * flight; otherwise requests are refused (the upstream gets an error) and log messages go to toolgate's log.
 */
export class CallRouter {
  private readonly calls = new Set<UpstreamCallOptions>();

  /** Registers an in-flight call; returns its release function. */
  enter(options: UpstreamCallOptions): () => void {
    if (options.onRequest === undefined && options.onNotification === undefined) return NOOP;
    this.calls.add(options);
    return () => this.calls.delete(options);
  }

  /** Delivers a call-related notification; false when it cannot be attributed. */
  notify(method: string, params: JsonObject | undefined): boolean {
    const target = this.single((c) => c.onNotification !== undefined);
    if (target?.onNotification === undefined) return false;
    target.onNotification(method, params);
    return true;
  }

  /** Relays an upstream request to the one call that can answer it. */
  request(req: JsonRpcRequest, signal: AbortSignal, upstreamName: string): Promise<JsonObject> {
    const target = this.single((c) => c.onRequest !== undefined);
    if (target?.onRequest === undefined) {
      return Promise.reject(
        new RemoteError(
          -32601,
          `toolgate cannot relay ${req.method} from upstream ${upstreamName}: ${this.calls.size === 0 ? 'no client call is in flight' : 'several client calls are in flight and the request names none'}`,
        ),
      );
    }
    return target.onRequest(req, signal);
  }

  private single(pred: (c: UpstreamCallOptions) => boolean): UpstreamCallOptions | undefined {
    let found: UpstreamCallOptions | undefined;
    for (const c of this.calls) {
      if (!pred(c)) continue;
      if (found !== undefined) return undefined;
      found = c;
    }
    return found;
  }
}

const NOOP = (): void => {};

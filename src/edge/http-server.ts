import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGatewayError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { createOriginGuard, type OriginGuardOptions } from './guards.js';

/** A route handler; errors it throws become a JSON error response. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Options of the `HttpEdge`. */
export interface HttpEdgeOptions extends OriginGuardOptions {
  port: number;
  logger: Logger;
}

/**
 * The HTTP listener: exact-path routing (no framework on the hot path), the Origin/Host guard on every
 * guarded route, and JSON errors. Other parts register routes (`/mcp`, `/healthz`, `/.well-known/…`).
 */
export class HttpEdge {
  readonly server: Server;
  private readonly routes = new Map<string, { handler: RouteHandler; guarded: boolean }>();
  private readonly guard: ReturnType<typeof createOriginGuard>;

  constructor(private readonly options: HttpEdgeOptions) {
    this.guard = createOriginGuard(options);
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 65_000; // longer than common load-balancer idle timeouts (60 s)
    this.server.headersTimeout = 66_000;
  }

  /** Registers a route. `guarded` routes get the DNS-rebinding check. */
  route(path: string, handler: RouteHandler, options: { guarded?: boolean } = {}): void {
    this.routes.set(path, { handler, guarded: options.guarded ?? true });
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting connections and closes idle keep-alive ones; open requests continue. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  /** Drops every connection (after draining). */
  closeAll(): void {
    this.server.closeAllConnections();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = this.routes.get(path);
    if (route === undefined) {
      sendJson(res, 404, { error: 'not_found', code: 'TG_NOT_FOUND', message: `No route ${path}` });
      return;
    }
    try {
      if (route.guarded) this.guard(req);
      const r = route.handler(req, res);
      if (r instanceof Promise) r.catch((err: unknown) => this.fail(res, err));
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (isGatewayError(err)) {
      const status = err.spec.httpStatus ?? 500;
      const body: Record<string, unknown> = {
        jsonrpc: '2.0',
        id: null,
        error: { code: err.spec.jsonRpcCode ?? -32600, message: err.message, data: { code: err.code } },
      };
      sendJson(res, status, body, err.headers);
      return;
    }
    this.options.logger.error({ err }, 'unexpected error in HTTP route');
    sendJson(res, 500, { error: 'internal', code: 'TG_INTERNAL', message: 'Internal error' });
  }
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(headers ?? {}) });
  res.end(text);
}

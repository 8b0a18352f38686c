import type { ServerResponse } from 'node:http';
import type { JsonRpcMessage } from '../jsonrpc/types.js';

/** Options of a `ResponseChannel`. */
export interface ResponseChannelOptions {
  /** The client accepts `text/event-stream`. */
  sse: boolean;
  /** Headers sent with the response whatever its form (e.g. Mcp-Session-Id). */
  headers?: Record<string, string>;
  /** Comment keep-alives on an open stream; a pending JSON answer upgrades to SSE after this long. */
  keepAliveMs: number;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * The answer to one POST. It stays a plain JSON response unless something must reach the client before the
 * result (progress, a log message, a relayed sampling request) or the call runs long enough to need keep-alives;
 * then it becomes an SSE stream. Headers are sent lazily, so the common case costs a single write.
 */
export class ResponseChannel {
  private mode: 'pending' | 'sse' | 'done' = 'pending';
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: ResponseChannelOptions,
  ) {
    if (options.sse && options.keepAliveMs > 0) {
      this.keepAlive = setTimeout(() => this.tick(), options.keepAliveMs);
      this.keepAlive.unref();
    }
  }

  /** True once the response has ended or the client went away. */
  get closed(): boolean {
    return this.mode === 'done' || this.res.destroyed;
  }

  /** Sends a message ahead of the result (upgrading to SSE). False when the client cannot receive it. */
  push(message: JsonRpcMessage): boolean {
    if (!this.options.sse || this.closed) return false;
    this.upgrade();
    this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    return true;
  }

  /** Sends the final message and ends the response. */
  finish(message: JsonRpcMessage, status = 200, headers?: Record<string, string>): void {
    if (this.closed) return;
    const body = JSON.stringify(message);
    if (this.mode === 'sse') {
      this.res.end(`event: message\ndata: ${body}\n\n`);
    } else {
      // An explicit length avoids chunked encoding: one write for headers and body.
      const h: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      };
      if (this.options.headers) Object.assign(h, this.options.headers);
      if (headers) Object.assign(h, headers);
      this.res.writeHead(status, h);
      this.res.end(body);
    }
    this.done();
  }

  /** Ends an SSE stream without a final message (e.g. shutdown of a listen stream after its final response). */
  end(): void {
    if (this.closed) return;
    if (this.mode === 'pending') {
      this.res.writeHead(204, this.options.headers ?? {});
    }
    this.res.end();
    this.done();
  }

  /** Opens the stream now (listen and GET streams start immediately). */
  open(): void {
    if (!this.closed) this.upgrade();
  }

  private upgrade(): void {
    if (this.mode !== 'pending') return;
    this.mode = 'sse';
    this.res.writeHead(200, this.options.headers ? { ...SSE_HEADERS, ...this.options.headers } : SSE_HEADERS);
    this.res.flushHeaders();
  }

  private tick(): void {
    if (this.closed) return;
    this.upgrade();
    this.res.write(': keep-alive\n\n');
    this.keepAlive = setTimeout(() => this.tick(), this.options.keepAliveMs);
    this.keepAlive.unref();
  }

  private done(): void {
    this.mode = 'done';
    clearTimeout(this.keepAlive);
  }
}

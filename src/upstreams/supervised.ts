import type { RestartConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type {
  JsonObject,
  Upstream,
  UpstreamCallOptions,
  UpstreamInfo,
  UpstreamCloseOptions,
  UpstreamListener,
  UpstreamState,
} from '../types.js';
import { CallRouter } from './call-router.js';
import { UpstreamLifecycle } from './lifecycle.js';

/**
 * What the supervised upstreams (stdio child, HTTP connection) share: the lifecycle state machine, the handshake
 * info, the listener, and the router of call-related messages. Subclasses bring `startOnce` and the transport.
 */
export abstract class SupervisedUpstream implements Upstream {
  abstract readonly kind: 'stdio' | 'http';
  readonly name: string;
  protected _info: UpstreamInfo | undefined;
  protected listener: UpstreamListener | undefined;
  protected readonly log: Logger;
  protected readonly router = new CallRouter();
  protected readonly lifecycle: UpstreamLifecycle;

  protected constructor(name: string, logger: Logger, restart: RestartConfig, maxWaitMs: number) {
    this.name = name;
    this.log = logger.child({ upstream: name });
    this.lifecycle = new UpstreamLifecycle(this, restart, this.log, () => this.startOnce(), maxWaitMs);
  }

  /** Brings the transport up once (spawn + handshake, or connect); the lifecycle retries it. */
  protected abstract startOnce(): Promise<void>;

  get state(): UpstreamState {
    return this.lifecycle.state;
  }

  get info(): UpstreamInfo | undefined {
    return this._info;
  }

  setListener(listener: UpstreamListener): void {
    this.listener = listener;
    this.lifecycle.setListener(listener);
  }

  start(): Promise<void> {
    return this.lifecycle.start();
  }

  abstract call(method: string, params: JsonObject | undefined, options?: UpstreamCallOptions): Promise<JsonObject>;
  abstract close(options?: UpstreamCloseOptions): Promise<void>;
  abstract destroy(): void;
}

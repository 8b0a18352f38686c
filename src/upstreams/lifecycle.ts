import type { RestartConfig } from '../config/schema.js';
import { GatewayError, abortError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Upstream, UpstreamListener, UpstreamState } from '../types.js';
import { backoffDelay } from './backoff.js';

/**
 * The state machine every supervised upstream (stdio child, HTTP connection) shares: start → up; failure →
 * restart with exponential backoff, bounded attempts, then `down` with a slow recovery probe; stop.
 * Calls that arrive while (re)starting wait for `up`, bounded in time.
 */
export class UpstreamLifecycle {
  private _state: UpstreamState = 'idle';
  private listener: UpstreamListener | undefined;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private waiters = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly owner: Upstream,
    private readonly restart: RestartConfig,
    private readonly log: Logger,
    /** Brings the upstream up once; rejects on failure. */
    private readonly startOnce: () => Promise<void>,
    /** Longest a call waits for a (re)start. */
    private readonly maxWaitMs: number,
  ) {}

  get state(): UpstreamState {
    return this._state;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  setListener(listener: UpstreamListener): void {
    this.listener = listener;
  }

  /** First start: failures are reported to the caller and then retried in the background. */
  async start(): Promise<void> {
    this.stopped = false;
    this.setState('starting');
    try {
      await this.startOnce();
      this.markUp();
    } catch (err) {
      this.failed(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** Records that the upstream is up. */
  markUp(): void {
    if (this.stopped) return;
    this.setState('up');
    this.wake();
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => {
      if (this._state === 'up') this.attempts = 0;
    }, this.restart.stableAfterMs);
    this.stableTimer.unref();
  }

  /** Records a failure (crash, lost connection, failed start) and schedules the next start. */
  failed(reason: string): void {
    if (this.stopped) return;
    clearTimeout(this.stableTimer);
    clearTimeout(this.restartTimer);
    const { maxAttempts, recoverAfterMs } = this.restart;
    if (this.attempts >= maxAttempts) {
      this.setState('down', reason);
      this.wake();
      this.log.error({ attempts: this.attempts, reason }, 'upstream marked down after bounded restarts');
      if (recoverAfterMs > 0) {
        this.restartTimer = setTimeout(() => {
          this.attempts = 0;
          this.setState('starting');
          this.attempt();
        }, recoverAfterMs);
        this.restartTimer.unref();
      }
      return;
    }
    this.attempts++;
    const delay = backoffDelay(this.attempts, this.restart);
    this.setState('restarting', reason);
    this.log.info({ attempt: this.attempts, delayMs: delay, reason }, 'restarting upstream');
    this.restartTimer = setTimeout(() => this.attempt(), delay);
    this.restartTimer.unref();
  }

  /** Stops supervision; waiting calls fail. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    this.setState('stopped');
    this.wake();
  }

  /** The error a call gets while the upstream is not up. */
  unavailable(): GatewayError {
    const state = this._state;
    const retryAfterMs = state === 'down' ? this.restart.recoverAfterMs || undefined : 1000;
    return new GatewayError(
      'TG_UPSTREAM_UNAVAILABLE',
      `The upstream "${this.owner.name}" serving this tool is ${state === 'idle' ? 'not started' : state}. Try again later.`,
      retryAfterMs === undefined ? {} : { retryAfterMs },
    );
  }

  /** Resolves when up; waits (bounded) while starting or restarting; rejects at once when down or stopped. */
  waitUntilUp(signal: AbortSignal | undefined): Promise<void> {
    if (this._state === 'up') return Promise.resolve();
    if (this._state !== 'starting' && this._state !== 'restarting') return Promise.reject(this.unavailable());
    return new Promise<void>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(finish);
        if (this._state === 'up') resolve();
        else reject(this.unavailable());
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.waiters.delete(finish);
        reject(signal ? abortError(signal) : new GatewayError('TG_CANCELLED', 'The call was cancelled.'));
      };
      const timer = setTimeout(finish, this.maxWaitMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(finish);
    });
  }

  private attempt(): void {
    if (this.stopped) return;
    this.startOnce().then(
      () => this.markUp(),
      (err: unknown) => {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'upstream failed to start');
        this.failed(err instanceof Error ? err.message : String(err));
      },
    );
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  private setState(state: UpstreamState, reason?: string): void {
    if (this._state === state) return;
    this._state = state;
    this.listener?.onStateChange(this.owner, state, reason);
  }
}

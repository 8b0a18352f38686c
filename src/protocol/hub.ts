import type { Catalog, CatalogKind } from '../catalog/catalog.js';
import type { JsonObject } from '../jsonrpc/types.js';
import type { Logger } from '../telemetry/logger.js';

/** Someone who receives unsolicited notifications: a legacy session, a modern listen stream, a stdio client. */
export interface Subscriber {
  listChanged(kind: CatalogKind): void;
  resourceUpdated(uri: string, params: JsonObject): void;
}

const LIST_CHANGED: Record<CatalogKind, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
};

/** The notification method announcing a change of `kind`. */
export function listChangedMethod(kind: CatalogKind): string {
  return LIST_CHANGED[kind];
}

/**
 * Fans catalog changes and resource updates out to every subscriber, and keeps upstream resource subscriptions
 * reference-counted: the upstream is subscribed when the first client wants a URI and unsubscribed after the last.
 */
export class NotificationHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly interest = new Map<string, number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly log: Logger,
  ) {
    catalog.onChange((kinds) => {
      for (const kind of kinds) for (const s of this.subscribers) s.listChanged(kind);
    });
  }

  /** Adds a subscriber; returns its removal. */
  add(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Number of subscribers (sessions and streams). */
  get size(): number {
    return this.subscribers.size;
  }

  /** An upstream reported `notifications/resources/updated`. */
  resourceUpdated(params: JsonObject | undefined): void {
    const uri = params?.['uri'];
    if (typeof uri !== 'string') return;
    for (const s of this.subscribers) s.resourceUpdated(uri, params as JsonObject);
  }

  /** A client wants updates of `uri`; subscribes upstream on first interest. */
  async retain(uri: string): Promise<void> {
    const n = this.interest.get(uri) ?? 0;
    this.interest.set(uri, n + 1);
    if (n === 0) await this.upstreamSubscription('resources/subscribe', uri);
  }

  /** A client no longer wants updates of `uri`; unsubscribes upstream after the last one. */
  async release(uri: string): Promise<void> {
    const n = this.interest.get(uri) ?? 0;
    if (n <= 1) {
      this.interest.delete(uri);
      if (n === 1) await this.upstreamSubscription('resources/unsubscribe', uri);
    } else this.interest.set(uri, n - 1);
  }

  private async upstreamSubscription(method: string, uri: string): Promise<void> {
    const upstream = this.catalog.resolveResource(uri);
    const caps = upstream?.info?.capabilities['resources'] as { subscribe?: boolean } | undefined;
    if (upstream === undefined || caps?.subscribe !== true || upstream.info?.era !== 'legacy') return;
    try {
      await upstream.call(method, { uri }, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      this.log.warn(
        { upstream: upstream.name, uri, method, err: (err as Error).message },
        'upstream resource subscription failed',
      );
    }
  }
}

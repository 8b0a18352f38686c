import type { CatalogKind } from '../catalog/catalog.js';
import { isObject, type JsonObject, type JsonRpcMessage, type RequestId } from '../jsonrpc/types.js';
import { listChangedMethod, type NotificationHub, type Subscriber } from './hub.js';
import { SUBSCRIPTION_ID_META_KEY } from './versions.js';

/** The filter of a `subscriptions/listen` request, as honoured. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

const KIND_FLAG: Record<CatalogKind, keyof ListenFilter> = {
  tools: 'toolsListChanged',
  prompts: 'promptsListChanged',
  resources: 'resourcesListChanged',
};

/** Reads the honoured subset of a listen request's `notifications` filter. */
export function parseListenFilter(params: JsonObject | undefined): ListenFilter {
  const raw = isObject(params?.['notifications']) ? (params['notifications'] as JsonObject) : {};
  const filter: ListenFilter = {};
  for (const flag of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    if (raw[flag] === true) filter[flag] = true;
  }
  const subs = raw['resourceSubscriptions'];
  if (Array.isArray(subs)) {
    const uris = subs.filter((u): u is string => typeof u === 'string').slice(0, 1000);
    if (uris.length > 0) filter.resourceSubscriptions = uris;
  }
  return filter;
}

/**
 * One modern `subscriptions/listen` stream (spec 2026-07-28): acknowledged first, then only the notification
 * types the client asked for, each tagged with the subscription id (the listen request's JSON-RPC id).
 */
export class ListenSubscription implements Subscriber {
  private readonly uris: ReadonlySet<string>;
  private readonly remove: () => void;
  private ended = false;

  constructor(
    readonly id: RequestId,
    readonly filter: ListenFilter,
    private readonly send: (message: JsonRpcMessage) => void,
    private readonly hub: NotificationHub,
  ) {
    this.uris = new Set(filter.resourceSubscriptions ?? []);
    this.send({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { [SUBSCRIPTION_ID_META_KEY]: id }, notifications: filter as JsonObject },
    });
    this.remove = hub.add(this);
    for (const uri of this.uris) void hub.retain(uri);
  }

  listChanged(kind: CatalogKind): void {
    if (this.filter[KIND_FLAG[kind]] === true) this.notify(listChangedMethod(kind), {});
  }

  resourceUpdated(uri: string, params: JsonObject): void {
    if (this.uris.has(uri)) this.notify('notifications/resources/updated', { ...params });
  }

  /** Ends the subscription; `graceful` sends the final result first (server-initiated close). */
  end(graceful: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.remove();
    for (const uri of this.uris) void this.hub.release(uri);
    if (graceful) {
      this.send({
        jsonrpc: '2.0',
        id: this.id,
        result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_META_KEY]: this.id } },
      });
    }
  }

  private notify(method: string, params: JsonObject): void {
    if (this.ended) return;
    const meta = isObject(params['_meta']) ? params['_meta'] : {};
    this.send({
      jsonrpc: '2.0',
      method,
      params: { ...params, _meta: { ...meta, [SUBSCRIPTION_ID_META_KEY]: this.id } },
    });
  }
}

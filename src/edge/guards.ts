import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/** Options of the DNS-rebinding guard. */
export interface OriginGuardOptions {
  /** Address the server is bound to. */
  host: string;
  allowedOrigins?: readonly string[];
  allowedHosts?: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** True for an address that only the local machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostname(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const i = hostHeader.lastIndexOf(':');
  return i === -1 ? hostHeader : hostHeader.slice(0, i);
}

/**
 * Builds the Origin/Host check (spec: servers MUST validate Origin and answer 403 to an invalid one).
 * A request without Origin (non-browser clients) passes the Origin check. Host is checked when the server is
 * bound to loopback (default allowlist: localhost names) or when `allowedHosts` is configured.
 */
export function createOriginGuard(options: OriginGuardOptions): (req: IncomingMessage) => void {
  const origins =
    options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins.map((o) => o.toLowerCase()));
  const hosts =
    options.allowedHosts !== undefined
      ? new Set(options.allowedHosts.map((h) => h.toLowerCase()))
      : isLoopbackHost(options.host)
        ? new Set(LOOPBACK_NAMES)
        : undefined;
  const localOrigin = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;
  return function originGuard(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const o = origin.toLowerCase();
      const ok = origins !== undefined ? origins.has(o) : localOrigin.test(o);
      if (!ok) throw new GatewayError('TG_FORBIDDEN_ORIGIN', `Forbidden: Origin ${origin} is not allowed`);
    }
    if (hosts !== undefined) {
      const h = (req.headers.host ?? '').toLowerCase();
      if (!hosts.has(h) && !hosts.has(hostname(h))) {
        throw new GatewayError('TG_FORBIDDEN_HOST', `Forbidden: Host ${req.headers.host ?? '(none)'} is not allowed`);
      }
    }
  };
}

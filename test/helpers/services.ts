import { connect } from 'node:net';

/** Redis and PostgreSQL used by tests: CI provides them on 127.0.0.1; elsewhere they may be missing. */
export const REDIS_URL = process.env['TOOLGATE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env['TOOLGATE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** True when running under CI, where missing services must fail the suite instead of skipping. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Decides whether tests of a service run. Returns a skip reason (one line) when the service is missing on a
 * developer machine; throws under CI, where a missing service is a failure, never a skip.
 */
export async function serviceSkipReason(kind: 'redis' | 'postgres'): Promise<string | undefined> {
  const url = kind === 'redis' ? REDIS_URL : POSTGRES_URL;
  if (await reachable(url)) return undefined;
  const reason = `${kind} not reachable at ${url}`;
  if (IN_CI) throw new Error(`${reason}: CI must provide it (tests of ${kind} code never skip under CI=true)`);
  return reason;
}

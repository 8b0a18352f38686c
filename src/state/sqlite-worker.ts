import { parentPort, workerData } from 'node:worker_threads';
import { SqliteEngine, type SqliteOps } from './sqlite-engine.js';

/** A request to the worker: one engine operation. */
export interface SqliteRequest {
  readonly id: number;
  readonly op: keyof SqliteOps;
  readonly args: readonly unknown[];
}

/** The worker's answer to one request. */
export type SqliteReply =
  { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

// The worker owns the database; requests arrive in order and are served one at a time (SQLite is synchronous).
const port = parentPort;
if (port !== null) {
  let engine: SqliteEngine | undefined;
  let openError: string | undefined;
  try {
    engine = new SqliteEngine((workerData as { file: string }).file);
  } catch (err) {
    openError = (err as Error).message;
  }
  port.on('message', (req: SqliteRequest) => {
    let reply: SqliteReply;
    try {
      if (engine === undefined) throw new Error(openError ?? 'the SQLite store is not open');
      const fn = engine[req.op] as (...args: unknown[]) => unknown;
      reply = { id: req.id, result: fn.apply(engine, [...req.args]) };
    } catch (err) {
      reply = { id: req.id, error: (err as Error).message };
    }
    port.postMessage(reply);
    if (req.op === 'close') port.close();
  });
}

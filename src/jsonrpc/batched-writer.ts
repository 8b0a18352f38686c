import type { Writable } from 'node:stream';

/**
 * Writes newline-delimited messages to a stream, coalescing everything produced in one turn of the event loop
 * into a single write. Under concurrent load a gateway receives many requests per I/O phase; one write instead of
 * one per message means one wake-up of the child and one syscall, which is most of the cost of a small call.
 */
export function createBatchedLineWriter(stream: Writable): BatchedLineWriter {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    if (stream.writable) stream.write(lines.length === 1 ? (lines[0] as string) : lines.join(''));
  };
  const writeLine = (line: string): void => {
    pending.push(line + '\n');
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush); // after the poll phase: every request parsed in this turn goes out together
    }
  };
  return Object.assign(writeLine, { flush });
}

/** A line writer; `flush()` writes what is queued now — call it before ending the stream, or those lines are lost. */
export interface BatchedLineWriter {
  (line: string): void;
  flush(): void;
}

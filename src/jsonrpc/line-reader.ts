import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** Default cap of one newline-delimited message: 16 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Options of `readLines`. */
export interface LineReaderOptions {
  /** Longest accepted line in bytes; a longer one is dropped and reported with `onOverflow`. */
  maxLineBytes?: number;
  /** Called with the size of a dropped over-long line. */
  onOverflow?: (bytes: number) => void;
}

/**
 * Splits a byte stream into lines (newline-delimited JSON-RPC framing, as in MCP's stdio transport).
 * `\r\n` endings are accepted. Empty lines are skipped. A partial line at EOF is delivered.
 */
export function readLines(stream: Readable, onLine: (line: string) => void, options: LineReaderOptions = {}): void {
  const maxBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let dropping = false;
  let dropped = 0;

  const emit = (line: string): void => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.length > 0) onLine(trimmed);
  };

  stream.on('data', (chunk: Buffer | string) => {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    let nl = text.indexOf('\n', start);
    while (nl !== -1) {
      if (dropping) {
        dropping = false;
        options.onOverflow?.(dropped + nl);
        dropped = 0;
      } else {
        emit(buffer.length === 0 ? text.slice(start, nl) : buffer + text.slice(start, nl));
      }
      buffer = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    const rest = text.slice(start);
    if (dropping) {
      dropped += rest.length;
    } else if (buffer.length + rest.length > maxBytes) {
      dropping = true;
      dropped = buffer.length + rest.length;
      buffer = '';
    } else {
      buffer += rest;
    }
  });
  stream.on('end', () => {
    const tail = buffer + decoder.end();
    buffer = '';
    if (!dropping) emit(tail);
  });
}

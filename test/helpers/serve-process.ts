import { spawn, type ChildProcess } from 'node:child_process';
import { TOOLGATE_BIN } from './paths.js';
import { waitFor } from './processes.js';

/** A `toolgate serve` running as a real process. */
export interface ServedProcess {
  proc: ChildProcess;
  /** The MCP endpoint, read from the startup log line. */
  url: string;
  exited: Promise<number | null>;
  /** Everything the process wrote to stderr so far (its JSON log). */
  stderr: () => string;
}

/** Starts `toolgate serve --config file` and waits until it logs where it listens. */
export async function serveProcess(file: string): Promise<ServedProcess> {
  const proc = spawn(process.execPath, [TOOLGATE_BIN, 'serve', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await waitFor(() => err.includes('toolgate listening'), 15_000, 'gateway start');
  const line = err.split('\n').find((l) => l.includes('toolgate listening')) as string;
  return { proc, url: (JSON.parse(line) as { url: string }).url, exited, stderr: () => err };
}

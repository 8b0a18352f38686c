import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A secret the checker planted, by where it planted it. */
export interface Canary {
  name: string;
  value: string;
}

/** One request that reached the SSRF listener. */
export interface SsrfHit {
  path: string;
  at: number;
}

/**
 * The checker's bait: secret-shaped environment values for stdio targets, and a loopback HTTP listener whose URL is
 * offered to URL-like parameters. A request reaching the listener on an attack path proves the server fetches
 * internal addresses it was handed (SSRF). Only loopback is ever used.
 */
export class CanaryKit {
  readonly env: Canary[];
  readonly token: string;
  readonly hits: SsrfHit[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(extra: string[] = []) {
    this.token = randomBytes(6).toString('hex');
    const r = (n: number): string => randomBytes(n).toString('hex');
    // Names no real server reads (so planting them changes no behaviour); values shaped like real secrets.
    this.env = [
      { name: 'TOOLGATE_CANARY_API_KEY', value: `sk-tgcanary${r(12)}` },
      { name: 'TOOLGATE_CANARY_GITHUB_TOKEN', value: `ghp_tgcanary${r(14)}` },
      { name: 'TOOLGATE_CANARY_PASSWORD', value: `tgcanary-${r(10)}` },
    ];
    for (const [i, value] of extra.entries()) this.env.push({ name: `--canary #${i + 1}`, value });
  }

  /** Environment entries to add to a stdio target (user-given canaries are not planted: they are already there). */
  envVars(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of this.env) if (!c.name.startsWith('--')) out[c.name] = c.value;
    return out;
  }

  /** Starts the SSRF listener on 127.0.0.1 (random port). */
  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((req, res) => {
      if (this.hits.length < 1000) this.hits.push({ path: req.url ?? '', at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('toolgate check canary\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** A loopback URL for a valid (non-attack) input. */
  validUrl(): string {
    return `http://127.0.0.1:${this.port}/tg-valid-${this.token}`;
  }

  /** Loopback URLs for SSRF probes; each carries the attack marker in its path. */
  ssrfUrls(): string[] {
    return [
      `http://127.0.0.1:${this.port}/tg-ssrf-${this.token}/a`,
      `http://localhost:${this.port}/tg-ssrf-${this.token}/b`,
    ];
  }

  /** Hits on attack paths so far. */
  ssrfHits(): SsrfHit[] {
    return this.hits.filter((h) => h.path.includes(`tg-ssrf-${this.token}`));
  }

  /** Stops the listener. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

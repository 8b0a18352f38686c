import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { createRedactor } from '../../src/security/redactor.js';
import { ROOT, TEST_SERVER } from '../helpers/paths.js';
import { errorCode, mcp, resultText } from './helpers.js';

const lines: string[] = [];
let gw: Gateway;
let url = '';

beforeAll(async () => {
  const loaded = parseConfig(
    `
listen: { port: 0 }
redaction: { secretEnv: [TG_TEST_SECRET] }
upstreams:
  t: { kind: stdio, command: ${process.execPath}, args: [${TEST_SERVER}] }
  demo: { kind: local, module: examples/tools/demo-tools.mjs }
tools:
  "t__*": { enabled: false }
  "t__leak": { enabled: true }
  "t__fail": { enabled: true }
  "demo__weather": { redact: { mode: block } }
  "demo__add": { redact: { mode: hash } }
  "demo__count_slowly": { redact: { mode: "off" } }
`,
    { dir: ROOT, env: { ...process.env, TG_TEST_SECRET: 'do-not-leak-0xBEEF' } },
  );
  // The same wiring as `toolgate serve`: one redactor for logs, results and audit.
  const redactor = createRedactor({ config: loaded.config.redaction, env: { TG_TEST_SECRET: 'do-not-leak-0xBEEF' } });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug', hooks: { streamWrite: redactor.redactLine } }, sink);
  gw = new Gateway({ config: loaded, logger, redactor });
  await gw.start();
  url = gw.url ?? '';
});
afterAll(async () => gw?.stop());

describe('redaction of results, errors and logs', () => {
  it('masks secrets and PII in an upstream result, naming what was removed', async () => {
    const r = await mcp(url, 'tools/call', { name: 't__leak', arguments: {} });
    expect(resultText(r)).toBe('user [REDACTED:email], card [REDACTED:card_number], key [REDACTED:aws_access_key]');
  });

  it('masks the value of a configured secret environment variable', async () => {
    const r = await mcp(url, 'tools/call', {
      name: 'demo__echo',
      arguments: { message: 'the secret is do-not-leak-0xBEEF' },
    });
    expect(resultText(r)).toBe('the secret is [REDACTED:secret_env]');
  });

  it('hashes in hash mode, blocks in block mode, passes in off mode', async () => {
    const blocked = await mcp(url, 'tools/call', {
      name: 'demo__weather',
      arguments: { city: 'mail me at eve@example.org' },
    });
    expect(errorCode(blocked)).toBe('TG_OUTPUT_BLOCKED');
    expect(resultText(blocked)).toContain('(email)');
    expect(resultText(blocked)).not.toContain('eve@example.org');
    const clean = await mcp(url, 'tools/call', { name: 'demo__weather', arguments: { city: 'Lisbon' } });
    expect(clean.body.result?.['isError']).not.toBe(true);
  });

  it('screens stack traces, paths and internal addresses out of upstream errors, keeping them in the log', async () => {
    const r = await mcp(url, 'tools/call', { name: 't__leak', arguments: { error: true } });
    const text = resultText(r);
    expect(r.body.result?.['isError']).toBe(true);
    expect(text).toMatch(
      /^Error: connect ECONNREFUSED \[internal-address\]\n\[stack trace removed\] \(reference: [0-9a-f-]{36}\)$/,
    );
    expect(
      lines.some(
        (l) => l.includes('upstream error text screened') && l.includes('/srv/app/node_modules/pg/lib/client.js'),
      ),
    ).toBe(true);
  });

  it('never writes a secret to the log', async () => {
    await mcp(url, 'tools/call', { name: 'demo__echo', arguments: { message: 'x' } });
    gw.logger.info(
      { header: 'Bearer abcdefghijklmnopqrstuvwxyz0123', password: 'hunter2' },
      'login with password=hunter2 for bob@example.com',
    );
    const all = lines.join('');
    expect(all).toContain('[REDACTED:bearer_token]');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('bob@example.com');
    expect(all).not.toContain('do-not-leak-0xBEEF');
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('counts redactions by kind and site in the metrics', async () => {
    const text = await gw.metrics.registry.metrics();
    expect(text).toMatch(/toolgate_redactions_total\{kind="email",site="result"\} [1-9]/);
    expect(text).toMatch(/toolgate_redactions_total\{kind="email",site="log"\} [1-9]/);
  });
});

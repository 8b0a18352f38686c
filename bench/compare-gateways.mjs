#!/usr/bin/env node
// Side-by-side: the stdio echo server (bench/stdio-echo-server.mjs) called directly over stdio, and the same
// server behind toolgate, supergateway and mcp-proxy over Streamable HTTP — all measured by one
// `toolgate bench --compare` run on this machine, targets in alternation (A B C D A B C D ...).
//
// Usage (from the repository root):
//   npm run build && npm install --prefix bench
//   node bench/compare-gateways.mjs [--requests 4000] [--concurrent 8] [--rounds 7] [--warmup 1000]
//                                   [--era legacy|modern|both] [--out-dir bench/results]
//
// Legacy era: all four targets (each HTTP target gets one session, so each gateway keeps one stdio child).
// Modern era (2026-07-28): direct, toolgate and mcp-proxy (supergateway speaks only the legacy era).
// supergateway runs with --stateful: its default stateless mode spawns a new stdio child for every request,
// which measures process start-up, not forwarding.
// Reports go to --out-dir as Markdown and JSON; the Markdown tables are what bench/README.md shows.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bench/node_modules/.bin');
const ECHO = 'bench/stdio-echo-server.mjs';

const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '4000' },
    concurrent: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '1000' },
    era: { type: 'string', default: 'both' },
    'out-dir': { type: 'string', default: join(ROOT, 'bench/results') },
  },
});

for (const [what, path] of [
  ['the build (npm run build)', join(ROOT, 'dist/cli/main.js')],
  ['supergateway (npm install --prefix bench)', join(BIN, 'supergateway')],
  ['mcp-proxy (npm install --prefix bench)', join(BIN, 'mcp-proxy')],
]) {
  if (!existsSync(path)) {
    process.stderr.write(`compare-gateways: missing ${what}: ${path}\n`);
    process.exit(2);
  }
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A toolgate config that fronts the echo server with default policies, tool names unprefixed. */
function toolgateConfig(port) {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-compare-'));
  const file = join(dir, 'toolgate.yaml');
  writeFileSync(
    file,
    [
      'listen:',
      '  host: 127.0.0.1',
      `  port: ${port}`,
      'log:',
      '  level: warn',
      'upstreams:',
      '  echo:',
      '    kind: stdio',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(join(ROOT, ECHO))}]`,
      '    namespace: false',
      '',
    ].join('\n'),
  );
  return file;
}

/** Runs `toolgate bench` with `args`; resolves with its exit code. Output streams through. */
function runBench(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/toolgate.js'), 'bench', ...args], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function compare(era) {
  const [tg, sg, mp] = [await freePort(), await freePort(), await freePort()];
  // The node binary that runs this script, quoted only when its path needs it (keeps the report readable).
  const node = /\s/.test(process.execPath) ? JSON.stringify(process.execPath) : process.execPath;
  const targets = [
    ['--target', `direct=${node} ${ECHO}`],
    [
      '--target',
      `toolgate=http://127.0.0.1:${tg}/mcp`,
      '--start',
      `toolgate=${node} bin/toolgate.js serve --config ${toolgateConfig(tg)}`,
    ],
  ];
  if (era === 'legacy') {
    targets.push([
      '--target',
      `supergateway=http://127.0.0.1:${sg}/mcp`,
      '--start',
      `supergateway=${node} ${join(BIN, 'supergateway')} --stdio '${process.execPath} ${ECHO}' --outputTransport streamableHttp --stateful --port ${sg} --logLevel none`,
    ]);
  }
  targets.push([
    '--target',
    `mcp-proxy=http://127.0.0.1:${mp}/mcp`,
    '--start',
    `mcp-proxy=${node} ${join(BIN, 'mcp-proxy')} --host 127.0.0.1 --port ${mp} --server stream -- ${node} ${ECHO}`,
  ]);
  const outDir = opts['out-dir'];
  mkdirSync(outDir, { recursive: true });
  const common = [
    '--compare',
    '--era',
    era,
    '--tool',
    'echo',
    '--args',
    '{"text":"hello"}',
    '--concurrent',
    opts.concurrent,
    '--requests',
    opts.requests,
    '--warmup',
    opts.warmup,
    '--rounds',
    opts.rounds,
    '--assert',
    'mismatches==0',
    '--assert',
    'error_rate<0.1%',
  ];
  process.stderr.write(`\ncompare-gateways: ${era} era\n`);
  const base = join(outDir, `compare-gateways-${era}`);
  const outs = ['md', 'json', 'html'].flatMap((ext) => ['--out', `${base}.${ext}`]);
  return runBench([...common, ...targets.flat(), ...outs, '--quiet']);
}

const eras = opts.era === 'both' ? ['legacy', 'modern'] : [opts.era];
let failed = 0;
for (const era of eras) {
  if (era !== 'legacy' && era !== 'modern') {
    process.stderr.write(`compare-gateways: --era must be legacy, modern or both\n`);
    process.exit(2);
  }
  if ((await compare(era)) !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);

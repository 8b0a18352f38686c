#!/usr/bin/env node
// Run by `npm test` before the suite: the official MCP conformance suite lives in a package of its own
// (conformance/package.json) so that it never enters toolgate's dependencies; install it from its lockfile when a
// fresh clone does not have it yet, so the README's test command runs the whole suite.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../conformance/', import.meta.url));
if (existsSync(`${dir}package.json`) && !existsSync(`${dir}node_modules/@modelcontextprotocol/conformance`)) {
  process.stderr.write('installing the conformance suite (conformance/) …\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

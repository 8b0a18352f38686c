import { describe, expect, it } from 'vitest';
import { spawnGroup } from '../../src/bench/child-group.js';
import { ProcessTreeSampler, parseProcStat, treeOf } from '../../src/bench/proc-stats.js';
import { groupAlive } from './helpers.js';

// A shell that starts two children (one burning CPU) and waits: a tree of three processes in one group.
const TREE = [
  'sh',
  '-c',
  `sleep 30 & node -e "const t=Date.now(); while (Date.now()-t < 400) {} setTimeout(()=>{}, 30000)" & wait`,
];

describe('/proc parsing', () => {
  it('parses stat lines whose command name contains spaces and parentheses', () => {
    const line =
      '4242 (my (odd) proc) S 4200 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123 456789 300 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 4200, cpuTicks: 250 + 50 + 7 + 3 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('finds a process and all its descendants', () => {
    const all = [
      { pid: 1, ppid: 0, cpuTicks: 0 },
      { pid: 10, ppid: 1, cpuTicks: 1 },
      { pid: 11, ppid: 10, cpuTicks: 2 },
      { pid: 12, ppid: 11, cpuTicks: 3 },
      { pid: 20, ppid: 1, cpuTicks: 4 },
    ];
    expect(
      treeOf(10, all)
        .map((e) => e.pid)
        .sort(),
    ).toEqual([10, 11, 12]);
    expect(treeOf(99, all)).toEqual([]);
  });
});

describe('process groups and tree sampling', () => {
  it("measures a tree's CPU, RSS and size, then stops every process of the group", async () => {
    const group = await spawnGroup(TREE, { pipeStdio: false });
    const sampler = new ProcessTreeSampler(group.pid, 100);
    await new Promise((r) => setTimeout(r, 150)); // let the shell start its children
    await sampler.start();
    await new Promise((r) => setTimeout(r, 700));
    const stats = await sampler.stop();
    expect(stats.maxProcesses).toBe(3);
    expect(stats.cpuMs).toBeGreaterThan(0);
    expect(stats.peakRssBytes).toBeGreaterThan(10 * 2 ** 20); // node alone is well above 10 MB
    expect(stats.samples).toBeGreaterThanOrEqual(2);
    expect(groupAlive(group.pid)).toBe(true);
    await group.stop();
    expect(groupAlive(group.pid)).toBe(false);
    expect(group.hasExited).toBe(true);
  });

  it('keeps the last stderr lines of a child to explain a failure', async () => {
    const group = await spawnGroup(
      ['node', '-e', 'console.error("first"); console.error("boom: no config"); process.exit(3)'],
      { pipeStdio: true },
    );
    expect(await group.exited).toBe('exited with code 3');
    await group.stop();
    expect(group.stderrTail()).toEqual(['first', 'boom: no config']);
  });

  it('rejects a command that cannot be spawned', async () => {
    await expect(spawnGroup(['/nonexistent/server-binary'], { pipeStdio: true })).rejects.toThrow(/ENOENT/);
  });
});

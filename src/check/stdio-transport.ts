import { brief, type CheckContext } from './context.js';

/** Seed 000: cold start under 2 s. */
export const STARTUP_WARN_MS = 2000;
export const STARTUP_ALERT_MS = 10_000;

const NA = 'stdio targets only';

/** stdio transport checks B1–B3. Shuts the server down (B3), so it runs after every group that talks to it. */
export async function runStdioChecks(ctx: CheckContext): Promise<void> {
  const stdio = ctx.stdio;
  if (stdio !== undefined) ctx.measurements['startup'] = `${stdio.startupMs} ms`;

  await ctx.check(
    'TG-CHK-B2',
    () => {
      if (stdio === undefined) return;
      if (stdio.startupMs > STARTUP_ALERT_MS)
        ctx.fail('TG-CHK-B2', {
          severity: 'medium',
          evidence: `first answer ${stdio.startupMs} ms after start (alert above ${STARTUP_ALERT_MS} ms)`,
        });
      else if (stdio.startupMs > STARTUP_WARN_MS)
        ctx.fail('TG-CHK-B2', {
          evidence: `first answer ${stdio.startupMs} ms after start (target under ${STARTUP_WARN_MS} ms)`,
        });
    },
    stdio === undefined ? NA : undefined,
  );

  // B3 before B1: the shutdown flushes whatever the server still writes to stdout.
  await ctx.check(
    'TG-CHK-B3',
    async () => {
      if (stdio === undefined) return;
      const r = await stdio.shutdown();
      ctx.measurements['shutdown'] =
        `${r.how} after ${r.ms} ms (exit code ${r.code ?? 'none'}${r.signal === null ? '' : `, ${r.signal}`})`;
      if (r.how === 'already-exited')
        ctx.fail('TG-CHK-B3', {
          subject: 'exited early',
          severity: 'high',
          evidence: `the server had already exited before shutdown (code ${r.code ?? 'none'}, signal ${r.signal ?? 'none'})`,
        });
      else if (r.how === 'sigkill')
        ctx.fail('TG-CHK-B3', {
          severity: 'high',
          evidence: `ignored stdin EOF and SIGTERM; needed SIGKILL after ${r.ms} ms`,
        });
      else if (r.how === 'sigterm')
        ctx.fail('TG-CHK-B3', { evidence: `kept running after stdin closed; exited on SIGTERM after ${r.ms} ms` });
      else if (r.code !== 0)
        ctx.fail('TG-CHK-B3', {
          subject: 'exit code',
          severity: 'low',
          evidence: `exited on stdin EOF with code ${r.code ?? 'none'} (expected 0)`,
        });
    },
    stdio === undefined ? NA : undefined,
  );

  await ctx.check(
    'TG-CHK-B1',
    () => {
      if (stdio === undefined) return;
      const garbage = stdio.stdout.filter((l) => l.kind === 'garbage');
      if (garbage.length > 0) {
        ctx.fail('TG-CHK-B1', {
          evidence: `${garbage.length} of ${stdio.stdout.length} stdout lines are not JSON-RPC, e.g. ${garbage
            .slice(0, 3)
            .map((l) => brief(l.line, 80))
            .join(' | ')}`,
        });
      }
    },
    stdio === undefined ? NA : undefined,
  );
}

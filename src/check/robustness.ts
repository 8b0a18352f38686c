import { answerText, brief, type CallRecord, type CheckContext } from './context.js';
import { attackProbes, boundaryProbes, validObject, type InputBait } from './inputs.js';
import { describeError } from './protocol.js';
import { isPlainObject } from './target.js';

/** Probes per tool, to bound the run. */
const BOUNDARY_PER_TOOL = 8;
const ATTACK_PER_TOOL = 10;

/** Evidence that an attack payload was executed, by probe kind. */
const EXECUTED: Record<'path' | 'command' | 'sql', RegExp> = {
  path: /root:[^:\n]*:0:0:/,
  command: /uid=\d+\([^)]*\)\s+gid=\d+/,
  sql: /SQLITE_ERROR|syntax error at or near|You have an error in your SQL syntax|unterminated quoted string|ORA-\d{5}|SQLSTATE\[|near ".*": syntax error|unrecognized token/i,
};

/** Calls every callable tool once with a small valid input (other groups read these records). */
export async function exerciseTools(ctx: CheckContext, bait: InputBait): Promise<void> {
  const skipped = ctx.tools.filter((t) => !ctx.callable(t).ok);
  if (skipped.length > 0) {
    ctx.notes.push(
      `not called (safe by default): ${skipped
        .map((t) => {
          const c = ctx.callable(t);
          return `${t.name} (${c.ok ? '' : c.reason})`;
        })
        .join(', ')}`,
    );
  }
  for (const tool of ctx.callableTools()) {
    const schema = isPlainObject(tool['inputSchema']) ? tool['inputSchema'] : {};
    await ctx.callTool(tool.name, validObject(schema, schema, bait), 'valid', 'schema-derived valid input');
  }
}

/** The first call whose transport failed because the server went away, if any. */
function firstFatal(ctx: CheckContext): CallRecord | undefined {
  return ctx.calls.find((c) => c.outcome === 'transport' && c.transportError !== 'call budget exhausted (--max-calls)');
}

/** Robustness checks H1–H5. */
export async function runRobustnessChecks(ctx: CheckContext, bait: InputBait): Promise<void> {
  const tools = ctx.callableTools();
  const none = tools.length === 0 ? 'no tool is safe to call (see --allow-destructive, --call-unannotated)' : undefined;

  await ctx.check(
    'TG-CHK-H1',
    () => {
      for (const r of ctx.calls.filter(
        (c) => c.purpose === 'valid' && c.tool !== '' && tools.some((t) => t.name === c.tool),
      )) {
        if (r.outcome === 'error' && r.error !== undefined && r.error.code !== -32602) {
          ctx.fail('TG-CHK-H1', {
            subject: r.tool,
            evidence: `"${r.tool}" with ${brief(r.args, 100)} answered JSON-RPC ${r.error.code}: ${brief(r.error.message)}`,
          });
        }
      }
    },
    none,
  );

  await ctx.check(
    'TG-CHK-H2',
    async () => {
      for (const tool of tools) {
        const schema = isPlainObject(tool['inputSchema']) ? tool['inputSchema'] : {};
        const base = validObject(schema, schema, bait);
        for (const probe of boundaryProbes(schema, base, BOUNDARY_PER_TOOL)) {
          if (!ctx.canCall()) return;
          const r = await ctx.callTool(tool.name, probe.args, 'boundary', probe.label);
          if (r.outcome === 'error' && r.error !== undefined && r.error.code !== -32602 && r.error.code !== -32600) {
            ctx.fail('TG-CHK-H2', {
              subject: `${tool.name}: ${probe.label}`,
              evidence: `"${tool.name}" with ${probe.label} answered JSON-RPC ${r.error.code}: ${brief(r.error.message)}`,
            });
          }
        }
      }
    },
    none,
  );

  await ctx.check(
    'TG-CHK-H3',
    async () => {
      let probes = 0;
      for (const tool of tools) {
        const schema = isPlainObject(tool['inputSchema']) ? tool['inputSchema'] : {};
        const base = validObject(schema, schema, bait);
        for (const probe of attackProbes(schema, base, { ...bait }, ATTACK_PER_TOOL)) {
          if (!ctx.canCall()) return;
          const hitsBefore = ctx.canary.ssrfHits().length;
          const r = await ctx.callTool(tool.name, probe.args, 'attack', probe.label);
          probes++;
          const text = answerText(r);
          if (probe.kind === 'ssrf') {
            const hits = ctx.canary.ssrfHits().length - hitsBefore;
            if (hits > 0) {
              ctx.fail('TG-CHK-H3', {
                subject: `${tool.name} ssrf`,
                severity: 'high',
                evidence: `"${tool.name}" fetched the internal URL it was given (${probe.label}); the checker's loopback listener received ${hits} request(s)`,
              });
            }
          } else if (probe.kind !== undefined && EXECUTED[probe.kind].test(text)) {
            const severity = probe.kind === 'sql' ? 'high' : 'critical';
            ctx.fail('TG-CHK-H3', {
              subject: `${tool.name} ${probe.kind}`,
              severity,
              evidence: `"${tool.name}" with ${probe.label} returned ${brief(text.match(EXECUTED[probe.kind])?.[0] ?? '')}…`,
            });
          }
        }
      }
      if (probes === 0)
        ctx.skipCheck('TG-CHK-H3', 'no callable tool has a path-, command-, query- or URL-like string parameter');
    },
    none,
  );

  await ctx.check('TG-CHK-H4', async () => {
    const fatal = firstFatal(ctx);
    let answered = true;
    let why = '';
    try {
      await ctx.target.request(
        ctx.target.era === 'legacy' ? 'ping' : 'tools/list',
        {},
        { timeoutMs: ctx.options.timeoutMs },
      );
    } catch (err) {
      // a JSON-RPC error still proves the server is up
      answered = (err as { name?: string }).name === 'RemoteError';
      why = describeError(err);
    }
    if (fatal !== undefined || !answered) {
      const cause =
        fatal === undefined ? '' : ` after tools/call "${fatal.tool}" (${fatal.label}): ${fatal.transportError ?? ''}`;
      ctx.fail('TG-CHK-H4', {
        evidence: `the server stopped answering${cause}${answered ? '' : `; final liveness probe: ${why}`}`,
      });
    }
  });

  await ctx.check('TG-CHK-H5', () => {
    for (const r of ctx.calls.filter((c) => c.outcome === 'timeout')) {
      ctx.fail('TG-CHK-H5', {
        subject: `${r.tool}: ${r.label}`,
        evidence: `tools/call "${r.tool}" (${r.label}) gave no answer within ${ctx.options.timeoutMs} ms`,
      });
    }
  });
}

import { answerText, type CheckContext } from './context.js';

/** Secret formats searched in outputs (name, pattern). Matches are masked in evidence. */
export const SECRET_PATTERNS: readonly [string, RegExp][] = [
  ['AWS access key id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['GitHub token', /\bgh[pousr]_[A-Za-z0-9]{36,}\b/],
  ['OpenAI/Anthropic-style API key', /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}/],
  ['Slack token', /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ['Google API key', /\bAIza[0-9A-Za-z_-]{35}\b/],
  ['Stripe live key', /\b[sr]k_live_[0-9A-Za-z]{20,}/],
  ['JSON Web Token', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  ['private key', /-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----/],
];

/** Stack-trace shapes of common runtimes. */
export const STACK_PATTERNS: readonly [string, RegExp][] = [
  ['Node.js stack trace', /\n\s+at (?:async )?[^\n]*?\(?(?:file:\/\/|node:internal|\/)[^\n]*:\d+:\d+\)?/],
  ['Python traceback', /Traceback \(most recent call last\):/],
  ['Java stack trace', /\n\s+at [\w$.]+\([\w$]+\.java:\d+\)/],
  ['Go panic', /goroutine \d+ \[running\]/],
];

const ABS_PATH =
  /(?:^|[\s'"`(=:])((?:\/(?:home|Users|root|var|etc|opt|srv|tmp|usr|mnt|private|workspace|app)\/[^\s'"`),;]+)|(?:[A-Z]:\\\\?[^\s'"`),;]+))/;
const INTERNAL_ADDR =
  /\b(?:10\.\d{1,3}\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3}|[a-z0-9-]+\.(?:internal|corp|lan|intranet))\b/i;

/** Masks a secret for evidence: enough to recognise it, never enough to use it. */
export function mask(value: string): string {
  return value.length <= 8 ? '****' : `${value.slice(0, 6)}…(${value.length} chars)`;
}

/** The first match (group `group`) of `re` in `text` that is not an echo of what the checker sent. */
function firstNotSent(re: RegExp, text: string, sent: string, group: number): string | undefined {
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  for (const m of text.matchAll(global)) {
    const v = m[group];
    if (v !== undefined && !sent.includes(v)) return v;
  }
  return undefined;
}

interface Source {
  subject: string;
  where: string;
  text: string;
  isError: boolean;
  /** What the checker sent to get this output: matches found in it are echoes, not leaks. */
  sent: string;
}

/** Every output the checker received, attributed to a tool where possible. */
function sources(ctx: CheckContext): Source[] {
  const out: Source[] = [];
  for (const r of ctx.calls) {
    const text = answerText(r);
    if (text.length === 0) continue;
    out.push({
      subject: r.tool,
      where: `tools/call "${r.tool}" (${r.label})`,
      text,
      isError: r.outcome === 'error' || r.result?.['isError'] === true,
      sent: JSON.stringify(r.args ?? null),
    });
  }
  const stdio = ctx.stdio;
  const transcript = stdio !== undefined ? stdio.stdout.map((l) => l.line) : (ctx.http?.received ?? []);
  if (transcript.length > 0) {
    // Not marked as errors: the transcript echoes the checker's own probes, so I4 reads only attributed calls.
    out.push({
      subject: 'protocol messages',
      where: 'protocol messages (lists, notifications, errors)',
      text: transcript.join('\n'),
      isError: false,
      sent: '',
    });
  }
  return out;
}

/** Leakage checks I1–I4 (run last: they read everything the server sent). */
export async function runLeakageChecks(ctx: CheckContext): Promise<void> {
  const srcs = sources(ctx);
  const canaries = ctx.canary.env;

  await ctx.check('TG-CHK-I1', () => {
    for (const c of canaries) {
      const hit = srcs.find((s) => s.text.includes(c.value));
      if (hit !== undefined) {
        ctx.fail('TG-CHK-I1', {
          subject: `${c.name} in ${hit.subject}`,
          evidence: `canary ${c.name}=${mask(c.value)} appeared in ${hit.where}`,
        });
      }
      const stderr = ctx.stdio?.stderr ?? '';
      if (stderr.includes(c.value)) {
        ctx.fail('TG-CHK-I1', {
          subject: `${c.name} in stderr`,
          severity: 'medium',
          evidence: `canary ${c.name}=${mask(c.value)} was written to the server's log (stderr)`,
        });
      }
    }
  });

  await ctx.check('TG-CHK-I2', () => {
    const planted = canaries.map((c) => c.value);
    for (const s of srcs) {
      for (const [name, re] of SECRET_PATTERNS) {
        const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
        const match = [...s.text.matchAll(global)]
          .map((m) => m[0])
          .find((v) => !planted.some((p) => p.includes(v) || v.includes(p)));
        if (match !== undefined)
          ctx.fail('TG-CHK-I2', {
            subject: `${name} in ${s.subject}`,
            evidence: `${name} ${mask(match)} in ${s.where}`,
          });
      }
    }
  });

  await ctx.check('TG-CHK-I3', () => {
    for (const s of srcs) {
      const text = s.text.replace(/\\n/g, '\n');
      for (const [name, re] of STACK_PATTERNS) {
        const m = re.exec(text);
        if (m !== null)
          ctx.fail('TG-CHK-I3', {
            subject: s.subject,
            evidence: `${name} in ${s.where}: ${JSON.stringify(m[0].trim().slice(0, 120))}`,
          });
      }
    }
  });

  await ctx.check('TG-CHK-I4', () => {
    for (const s of srcs.filter((x) => x.isError)) {
      const text = s.text.replace(/\\\\/g, '\\');
      const path = firstNotSent(ABS_PATH, text, s.sent, 1);
      if (path !== undefined)
        ctx.fail('TG-CHK-I4', {
          subject: `${s.subject} path`,
          evidence: `absolute path ${JSON.stringify(path.slice(0, 80))} in ${s.where}`,
        });
      const addr = firstNotSent(INTERNAL_ADDR, text, s.sent, 0);
      if (addr !== undefined)
        ctx.fail('TG-CHK-I4', {
          subject: `${s.subject} address`,
          evidence: `internal address ${JSON.stringify(addr)} in ${s.where}`,
        });
    }
  });
}

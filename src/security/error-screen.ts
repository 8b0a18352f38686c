/**
 * Screens upstream error text before a client sees it: stack traces, absolute file paths and internal network
 * addresses tell an attacker how the system is built and help the model nothing. The caller logs the full text
 * under the correlation id.
 */

const JS_FRAME = /^[ \t]*at [^\n]*(?:\(|\s)(?:[^\s()]+:\d+(?::\d+)?|native|<anonymous>)\)?[ \t]*$/;
const PY_TRACEBACK_START = /^Traceback \(most recent call last\):\s*$/;
const PY_FRAME = /^[ \t]+(?:File "[^"]*", line \d+|\S)/;
const JAVA_FRAME = /^[ \t]+at [\w$.]+\([\w$.]*(?::\d+)?\)\s*$|^[ \t]*\.\.\. \d+ more\s*$/;

const PATH = new RegExp(
  [
    String.raw`file:\/\/\/?[^\s"'<>)]+`,
    String.raw`(?<![\w.:/~-])\/(?:home|Users|usr|var|opt|etc|srv|root|tmp|app|apps|mnt|private|proc|workspace|work|data|run|lib|code|build|src|node_modules)(?:\/[\w.@+~-]+)+\/?`,
    String.raw`\b[A-Za-z]:\\(?:[\w .@+~-]+\\)*[\w.@+~-]+`,
  ].join('|'),
  'g',
);

const ADDRESS = new RegExp(
  [
    String.raw`\b(?:10(?:\.\d{1,3}){3}|127(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|169\.254(?:\.\d{1,3}){2}|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])(?:\.\d{1,3}){2})(?::\d{1,5})?\b`,
    String.raw`\blocalhost(?::\d{1,5})?\b`,
    String.raw`\b[\w-]+(?:\.[\w-]+)*\.(?:internal|local|lan|corp|intranet|svc\.cluster\.local|cluster\.local)(?::\d{1,5})?\b`,
    String.raw`\[?(?:fe80|f[cd][0-9a-f]{2}):[0-9a-f:]*[0-9a-f]\]?(?::\d{1,5})?`,
    String.raw`\[::1\](?::\d{1,5})?`,
  ].join('|'),
  'gi',
);

/** The screened text, and whether anything was masked. */
export interface ScreenedText {
  readonly text: string;
  readonly changed: boolean;
}

/** Masks stack traces (JS, Java, Python), absolute paths and internal addresses in error text. */
export function screenErrorText(text: string): ScreenedText {
  if (text.length === 0) return { text, changed: false };
  const out: string[] = [];
  let inTrace = false;
  let inPython = false;
  for (const line of text.split('\n')) {
    if (PY_TRACEBACK_START.test(line)) {
      inPython = true;
      if (!inTrace) out.push('[stack trace removed]');
      inTrace = true;
      continue;
    }
    if (inPython && PY_FRAME.test(line)) continue;
    inPython = false;
    if (JS_FRAME.test(line) || JAVA_FRAME.test(line)) {
      if (!inTrace) out.push('[stack trace removed]');
      inTrace = true;
      continue;
    }
    inTrace = false;
    out.push(line);
  }
  let screened = out.join('\n');
  screened = screened.replace(PATH, '[path]').replace(ADDRESS, '[internal-address]');
  return screened === text ? { text, changed: false } : { text: screened, changed: true };
}

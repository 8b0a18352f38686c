/**
 * What the redactor looks for. Each detector is a regular expression (no capturing groups: they are combined
 * into one alternation with a named group each) plus an optional validator that rejects look-alikes (Luhn for
 * card numbers, mod-97 for IBANs, digit counts for phone numbers). Order matters: earlier detectors win when
 * two could match at the same place (a JWT inside `Bearer …` is reported as a bearer token).
 */

/** A class of sensitive data. */
export interface Detector {
  readonly kind: string;
  readonly category: 'secret' | 'pii';
  /** Regular expression source (flags `g` and `u` are added; no capturing groups). */
  readonly source: string;
  /** Returns false for a look-alike that must pass untouched. */
  readonly validate?: (match: string) => boolean;
  /** Length of the prefix kept visible (e.g. `password=`), computed from the match. */
  readonly keep?: (match: string) => number;
}

/** Case-insensitive source for letters (the combined pattern cannot take the `i` flag: IBANs and AWS keys are upper case). */
function anyCase(source: string): string {
  return source.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

const KEY_WORDS = anyCase(
  String.raw`password|passwd|pwd|passphrase|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|credentials?`,
);

/** A value char class that never spans JSON escapes or quotes (log lines are JSON). */
const VALUE = String.raw`[^\s"'\\,;&<>{}()\[\]]`;

const ASSIGNMENT_SPLIT = /^(.*?[:=][ \t]*["']?)(.*)$/s;

/** Luhn checksum (card numbers). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 mod-97 check of an IBAN (spaces ignored). */
export function ibanValid(text: string): boolean {
  const s = text.replace(/ /g, '');
  if (s.length < 15 || s.length > 34) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const c of v) rem = (rem * 10 + (c.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

function cardValid(match: string): boolean {
  const digits = match.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  return luhnValid(digits);
}

function phoneValid(match: string): boolean {
  const n = match.replace(/\D/g, '').length;
  return n >= 8 && n <= 15;
}

function assignmentValid(match: string): boolean {
  const m = ASSIGNMENT_SPLIT.exec(match);
  if (m === null) return false;
  const prefix = m[1] as string;
  const value = m[2] as string;
  if (value.length < 3) return false;
  // `password: below` is prose; `password=hunter2`, `"password": "x1"` and `secret: s3cr3t!x` are assignments.
  const quoted = /["']$/.test(prefix);
  const spaced = /[:=][ \t]+$/.test(prefix);
  if (quoted || !spaced) return true;
  return value.length >= 8 && /[^A-Za-z]/.test(value);
}

function assignmentKeep(match: string): number {
  return ASSIGNMENT_SPLIT.exec(match)?.[1]?.length ?? 0;
}

function bearerKeep(match: string): number {
  return /^\S+[ \t]+/.exec(match)?.[0].length ?? 0;
}

/** The built-in detectors, most specific first. */
export const DETECTORS: readonly Detector[] = [
  {
    kind: 'private_key',
    category: 'secret',
    source: String.raw`-----BEGIN[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,16384}?-----END[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----`,
  },
  {
    kind: 'bearer_token',
    category: 'secret',
    source: String.raw`\b(?:Bearer|Basic)[ \t]+[A-Za-z0-9._~+/-]{20,}={0,2}`,
    keep: bearerKeep,
  },
  { kind: 'jwt', category: 'secret', source: String.raw`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*` },
  {
    kind: 'aws_access_key',
    category: 'secret',
    source: String.raw`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[A-Z0-9]{16}\b`,
  },
  { kind: 'gcp_api_key', category: 'secret', source: String.raw`\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])` },
  {
    kind: 'github_token',
    category: 'secret',
    source: String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`,
  },
  { kind: 'slack_token', category: 'secret', source: String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,250}` },
  { kind: 'stripe_key', category: 'secret', source: String.raw`\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}\b` },
  {
    kind: 'llm_api_key',
    category: 'secret',
    source: String.raw`\bsk-(?:proj-|ant-(?:api|admin)\d{2}-)?[A-Za-z0-9_-]{32,}`,
  },
  { kind: 'toolgate_api_key', category: 'secret', source: String.raw`\btgk_[a-z0-9]{12}_[A-Za-z0-9_-]{20,}` },
  {
    kind: 'secret_assignment',
    category: 'secret',
    source: String.raw`(?<![A-Za-z0-9])(?:${KEY_WORDS})["']?[ \t]*[:=][ \t]*["']?${VALUE}+`,
    validate: assignmentValid,
    keep: assignmentKeep,
  },
  {
    kind: 'iban',
    category: 'pii',
    source: String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`,
    validate: ibanValid,
  },
  {
    kind: 'card_number',
    category: 'pii',
    source: String.raw`(?<![\w.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w-])`,
    validate: cardValid,
  },
  {
    kind: 'us_ssn',
    category: 'pii',
    source: String.raw`(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])`,
  },
  {
    kind: 'phone',
    category: 'pii',
    source: String.raw`(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{2,4}){2,5}(?![\w-])|(?<![\w-])\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?![\w-])|(?<![\w.-])\d{3}-\d{3}-\d{4}(?![\w-])`,
    validate: phoneValid,
  },
  {
    kind: 'email',
    category: 'pii',
    source: String.raw`(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b`,
  },
];

/** Every kind the redactor can report (built-in detectors plus the configured-secret and key-like-field kinds). */
export const REDACTION_KINDS: readonly string[] = [...DETECTORS.map((d) => d.kind), 'secret_env', 'secret_field'];

/** Field names whose string values are treated as secrets when they look random (high entropy). */
export const KEY_LIKE_FIELD =
  /(?:^|[_-])(?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth|signature|session[_-]?id|cookie)s?$|^(?:key|pwd)$/i;

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** True for a value of a key-like field that looks like a credential rather than a word or a number. */
export function looksRandom(value: string): boolean {
  if (value.length < 12 || value.length > 4096 || /\s/.test(value)) return false;
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return false;
  return entropy(value) >= 3.2;
}

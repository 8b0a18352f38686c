/** A compiled name pattern: `*` matches any run of characters (including the namespace separator), `?` one. */
export interface NameMatcher {
  readonly pattern: string;
  /** Literal characters in the pattern: more literal = more specific. */
  readonly specificity: number;
  test(name: string): boolean;
}

/** Compiles a glob once (at config load / catalog build), never per request. */
export function compileGlob(pattern: string): NameMatcher {
  if (!/[*?]/.test(pattern)) {
    return { pattern, specificity: pattern.length + 1, test: (name) => name === pattern };
  }
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${source}$`, 's');
  return { pattern, specificity: pattern.replace(/[*?]/g, '').length, test: (name) => re.test(name) };
}

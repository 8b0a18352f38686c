import { describe, expect, it } from 'vitest';
import { RedactionSchema } from '../../src/config/security.js';
import { ibanValid, luhnValid } from '../../src/security/detectors.js';
import { screenErrorText } from '../../src/security/error-screen.js';
import { createRedactor } from '../../src/security/redactor.js';

const env = { DEPLOY_TOKEN: 'deploy-Zq81-secret-value', SHORT: 'abc' };
const redactor = createRedactor({
  config: RedactionSchema.parse({ secretEnv: ['DEPLOY_TOKEN', 'SHORT'], hashKey: 'k' }),
  env,
});

// Fake credentials assembled at run time so secret scanners do not flag this file.
const j = (...parts: string[]): string => parts.join('');

/** Secrets and PII that must be caught, with the kind the redactor must name. */
const MUST_CATCH: readonly [string, string][] = [
  [`aws key ${j('AKIA', 'IOSFODNN7EXAMPLE')} here`, 'aws_access_key'],
  [`gcp ${j('AIza', 'SyA1234567890abcdefghijklmnopqrstuv')}`, 'gcp_api_key'],
  [`token ${j('ghp_', 'a'.repeat(20), 'B'.repeat(16))}`, 'github_token'],
  [`pat ${j('github_pat_', '11ABCDEFG0123456789_abcdefghijklmnop')}`, 'github_token'],
  [`slack ${j('xoxb-', '123456789012-abcdefABCDEF')}`, 'slack_token'],
  [`stripe ${j('sk_live_', '4eC39HqLyjWDarjtT1zdp7dc')}`, 'stripe_key'],
  [`openai ${j('sk-proj-', 'abcdefghijklmnopqrstuvwxyz0123456789ABCD')}`, 'llm_api_key'],
  [`jwt ${j('eyJhbGciOiJIUzI1NiJ9', '.', 'eyJzdWIiOiIxMjM0In0', '.', 'c2lnbmF0dXJlLXZhbHVl')}`, 'jwt'],
  [`Authorization: Bearer ${j('abcdefghij', 'KLMNOPQRST', 'uvwxyz0123')}`, 'bearer_token'],
  [j('-----BEGIN RSA ', 'PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA ', 'PRIVATE KEY-----'), 'private_key'],
  ['db password=hunter2 ok', 'secret_assignment'],
  ['{"api_key": "zzz-123"}', 'secret_assignment'],
  ['client_secret: s3cr3t!value', 'secret_assignment'],
  ['export SECRET=topsecret', 'secret_assignment'],
  ['the deploy token is deploy-Zq81-secret-value.', 'secret_env'],
  ['mail alice.smith+tag@example.co.uk now', 'email'],
  ['call +44 20 7946 0958 today', 'phone'],
  ['call (415) 555-2671', 'phone'],
  ['call 415-555-2671', 'phone'],
  ['card 4111 1111 1111 1111', 'card_number'],
  ['card 5500-0000-0000-0004', 'card_number'],
  ['amex 378282246310005', 'card_number'],
  ['iban DE89 3704 0044 0532 0130 00', 'iban'],
  ['iban GB82WEST12345698765432', 'iban'],
  ['ssn 078-05-1120', 'us_ssn'],
];

/** Look-alikes that must pass untouched. */
const MUST_PASS: readonly string[] = [
  'version 1.2.3 released on 2024-01-15',
  'order 4111111111111112 shipped', // fails Luhn
  'timestamp 1732240000000', // Luhn-valid look-alike would start with 1: not a card prefix
  'IP 192.168.1.20 and port 8080',
  'iban-like DE89 3704 0044 0532 0130 01', // wrong checksum
  'user@localhost has no domain',
  'Enter your password: below',
  'max_tokens: 1500 and tokens=20',
  'the secret of success is patience',
  'sku AKIA-PRODUCT-1',
  'sk-learn is a library',
  'ssn-like 000-12-3456 and 123-45-678',
  'uuid 123e4567-e89b-12d3-a456-426614174000',
  'call extension 1234',
  'price +12.50 EUR',
  'the word Bearer alone',
  'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'short env abc stays',
];

describe('redactor corpus', () => {
  it.each(MUST_CATCH)('catches %s', (text, kind) => {
    const r = redactor.redactText(text, 'mask', 'result');
    expect(r.kinds).toContain(kind);
    expect(r.value).toContain(`[REDACTED:${kind}]`);
  });

  it.each(MUST_PASS)('passes look-alike %s', (text) => {
    const r = redactor.redactText(text, 'mask', 'result');
    expect(r.kinds).toEqual([]);
    expect(r.value).toBe(text);
  });

  it('keeps the key of an assignment and the scheme of a bearer header visible', () => {
    expect(redactor.redactText('password=hunter2', 'mask', 'result').value).toBe(
      'password=[REDACTED:secret_assignment]',
    );
    expect(redactor.redactText(`Bearer ${'x1'.repeat(12)}`, 'mask', 'result').value).toBe(
      'Bearer [REDACTED:bearer_token]',
    );
  });

  it('hash mode gives equal values equal markers and different values different ones', () => {
    const a = redactor.redactText('a@example.com and a@example.com and b@example.com', 'hash', 'result').value;
    const markers = a.match(/\[email:[0-9a-f]{12}\]/g) ?? [];
    expect(markers).toHaveLength(3);
    expect(markers[0]).toBe(markers[1]);
    expect(markers[0]).not.toBe(markers[2]);
    expect(a).not.toContain('example.com');
  });

  it('redacts random-looking values of key-like fields in JSON values and returns clean values unchanged', () => {
    const clean = { a: 1, b: ['x', { c: 'hello' }] };
    expect(redactor.redactValue(clean, 'mask', 'audit').value).toBe(clean);
    const dirty = {
      apiKey: 'Zx81kQp0vL2mN7wR4tY9',
      session_id: 'short',
      nested: [{ contact: 'bob@example.org' }],
      count: 3,
    };
    const r = redactor.redactValue(dirty, 'mask', 'audit');
    expect([...r.kinds].sort()).toEqual(['email', 'secret_field']);
    expect(r.value).toEqual({
      apiKey: '[REDACTED:secret_field]',
      session_id: 'short',
      nested: [{ contact: '[REDACTED:email]' }],
      count: 3,
    });
    expect(dirty.apiKey).toBe('Zx81kQp0vL2mN7wR4tY9'); // the input is never mutated
  });

  it('keeps JSON log lines valid JSON', () => {
    const line = JSON.stringify({
      msg: 'login',
      detail: 'password="p4ss\\"word" mail a@b.io',
      token: j('ghp_', 'x'.repeat(36)),
    });
    const out = redactor.redactLine(line);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
    expect(out).not.toContain('a@b.io');
    expect(out).not.toContain('x'.repeat(36));
  });

  it('counts redactions by site and kind', () => {
    const r = createRedactor({ config: RedactionSchema.parse({}) });
    const seen: string[] = [];
    r.onRedact = (kind, site) => seen.push(`${site}:${kind}`);
    r.redactText('a@example.com b@example.com', 'mask', 'log');
    expect(seen).toEqual(['log:email', 'log:email']);
    expect(r.totals.get('log:email')).toBe(2);
  });

  it('honours disabled kinds and categories', () => {
    const r = createRedactor({ config: RedactionSchema.parse({ pii: false, disable: ['jwt'] }) });
    expect(r.redactText('a@example.com', 'mask', 'result').kinds).toEqual([]);
    expect(
      r.redactText(j('eyJhbGciOiJIUzI1NiJ9', '.', 'eyJzdWIiOiIxMjM0In0', '.', 'abc'), 'mask', 'result').kinds,
    ).toEqual([]);
    expect(() => createRedactor({ config: RedactionSchema.parse({ disable: ['nope'] }) })).toThrow(
      /unknown kind "nope"/,
    );
  });

  it('checks card and IBAN checksums', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
  });
});

describe('upstream error screening', () => {
  it('masks stack traces, absolute paths and internal addresses', () => {
    const text = [
      'TypeError: cannot read x of undefined',
      '    at handler (/home/app/src/server.js:10:5)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      'while connecting to 10.1.2.3:5432 and db.internal, file C:\\Users\\svc\\app\\db.js and /var/lib/app/data.db',
    ].join('\n');
    const r = screenErrorText(text);
    expect(r.changed).toBe(true);
    expect(r.text).toContain('TypeError: cannot read x of undefined');
    expect(r.text).toContain('[stack trace removed]');
    expect(r.text).not.toMatch(/\/home\/app|10\.1\.2\.3|db\.internal|C:\\Users|\/var\/lib/);
    expect(r.text).toContain('[internal-address]');
    expect(r.text).toContain('[path]');
  });

  it('leaves ordinary error text untouched', () => {
    const text = 'Invalid argument "limit": must be at most 100 (see https://example.com/docs/api/limits).';
    expect(screenErrorText(text)).toEqual({ text, changed: false });
  });

  it('removes Python tracebacks', () => {
    const r = screenErrorText(
      'Traceback (most recent call last):\n  File "/srv/app/main.py", line 3, in <module>\n    run()\nValueError: bad value',
    );
    expect(r.text).toBe('[stack trace removed]\nValueError: bad value');
  });
});

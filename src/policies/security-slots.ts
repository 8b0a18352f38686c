import type { PolicySlot } from './index.js';
import { createAuditPolicy } from './audit.js';
import { createAuthorizePolicy } from './authorize.js';
import { createPinPolicy } from './pin.js';
import { createRateLimitPolicy } from './rate-limit.js';
import { createRedactPolicy } from './redact.js';
import { createScreenErrorsPolicy } from './screen-errors.js';

/**
 * `audit` — outermost, around `mask-errors`, so it records each call exactly as the client saw it (allowed,
 * denied, limited, failed, masked).
 */
export const AUDIT_SLOT: PolicySlot = {
  name: 'audit',
  build: (ctx) => {
    const writer = ctx.services.security?.audit;
    return writer === undefined ? undefined : createAuditPolicy({ writer });
  },
};

/**
 * The security slots right inside `mask-errors`, in this order:
 * - `authorize` first: an unauthorized call costs nothing else (no rate-limit tokens, no upstream work);
 * - `pin`: a withheld tool is refused before it is counted against limits;
 * - `rate-limit`: only authorized calls to available tools take tokens;
 * - `redact` then `screen-errors`: outside every reliability policy, so they see the final result (and the
 *   screened error text is redacted too).
 */
export const SECURITY_SLOTS: readonly PolicySlot[] = [
  {
    name: 'authorize',
    build: (ctx) => {
      const s = ctx.services.security;
      return s === undefined || !s.rulesActive
        ? undefined
        : createAuthorizePolicy({ rules: s.rules, toolName: ctx.toolName });
    },
  },
  {
    name: 'pin',
    build: (ctx) => {
      const s = ctx.services.security;
      return s === undefined ? undefined : createPinPolicy({ pins: s.pins, toolName: ctx.toolName });
    },
  },
  {
    name: 'rate-limit',
    build: (ctx) => {
      const s = ctx.services.security;
      if (s === undefined) return undefined;
      return createRateLimitPolicy({
        toolName: ctx.toolName,
        limiter: s.limiter,
        settings: ctx.settings.rateLimit,
        source: ctx.sources['rateLimit'] ?? 'rateLimit',
        ...(s.perPrincipal === undefined ? {} : { perPrincipal: s.perPrincipal }),
      });
    },
  },
  {
    name: 'redact',
    build: (ctx) => {
      const s = ctx.services.security;
      return s === undefined
        ? undefined
        : createRedactPolicy({
            toolName: ctx.toolName,
            redactor: s.redactor,
            mode: ctx.settings.redact?.mode ?? 'mask',
          });
    },
  },
  {
    name: 'screen-errors',
    build: (ctx) =>
      ctx.services.security === undefined || ctx.settings.redact?.screenErrors === false
        ? undefined
        : createScreenErrorsPolicy(),
  },
];

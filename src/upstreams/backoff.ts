/** Options of exponential backoff. */
export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before attempt `attempt` (1-based): exponential, capped, with "equal jitter" (half fixed, half random)
 * so that a fleet of gateways restarting the same upstream does not retry in lockstep, yet never retries at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = options.initialDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(options.maxDelayMs, exp);
  return Math.round(capped / 2 + random() * (capped / 2));
}

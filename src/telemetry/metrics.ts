import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets (seconds) for tool calls: 1 ms … 60 s. */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The gateway's Prometheus metrics, in a registry of its own (several gateways may live in one process, e.g. in
 * tests). Label values are bounded: tool names come from the catalog, never from raw requests.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly toolCalls = new Counter({
    name: 'toolgate_tool_calls_total',
    help: 'Tool calls by tool and outcome (ok, tool_error = isError result, error = protocol error).',
    labelNames: ['tool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly toolCallDuration = new Histogram({
    name: 'toolgate_tool_call_duration_seconds',
    help: 'Tool call latency through the gateway, by tool.',
    labelNames: ['tool'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });
  readonly toolErrors = new Counter({
    name: 'toolgate_tool_errors_total',
    help: 'Tool calls that ended in a toolgate error result, by tool and TG_* code.',
    labelNames: ['tool', 'code'] as const,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'toolgate_requests_total',
    help: 'MCP requests by method and client era.',
    labelNames: ['method', 'era'] as const,
    registers: [this.registry],
  });
  readonly upstreamUp = new Gauge({
    name: 'toolgate_upstream_up',
    help: '1 when the upstream is up, 0 otherwise.',
    labelNames: ['upstream', 'kind'] as const,
    registers: [this.registry],
  });
  readonly upstreamRestarts = new Counter({
    name: 'toolgate_upstream_restarts_total',
    help: 'Upstream restarts/reconnects after a crash or lost connection.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly sessions = new Gauge({
    name: 'toolgate_sessions',
    help: 'Open legacy sessions and modern listen streams.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'toolgate_inflight_calls',
    help: 'Tool calls in flight.',
    registers: [this.registry],
  });
  readonly argumentCorrections = new Counter({
    name: 'toolgate_argument_corrections_total',
    help: 'Arguments repaired by auto-correction before the call, by tool and rule.',
    labelNames: ['tool', 'rule'] as const,
    registers: [this.registry],
  });
  readonly validationFailures = new Counter({
    name: 'toolgate_validation_failures_total',
    help: 'Validation failures by tool and kind (input = arguments refused, output = structuredContent off its schema, schema = uncompilable schema).',
    labelNames: ['tool', 'kind'] as const,
    registers: [this.registry],
  });
  readonly outputTruncations = new Counter({
    name: 'toolgate_output_truncations_total',
    help: 'Results cut to the output size cap, by tool.',
    labelNames: ['tool'] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'toolgate_retries_total',
    help: 'Retries of tool calls (attempts after the first), by tool and the TG_* code that caused them.',
    labelNames: ['tool', 'code'] as const,
    registers: [this.registry],
  });
  readonly circuitState = new Gauge({
    name: 'toolgate_circuit_state',
    help: 'Circuit breaker state by scope (tool, upstream) and name: 0 closed, 1 half-open, 2 open.',
    labelNames: ['scope', 'name'] as const,
    registers: [this.registry],
  });
  readonly circuitTransitions = new Counter({
    name: 'toolgate_circuit_transitions_total',
    help: 'Circuit breaker state changes by scope, name and new state.',
    labelNames: ['scope', 'name', 'state'] as const,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'toolgate_concurrency_queue_wait_seconds',
    help: 'Time calls waited for a concurrency slot (only calls that had to wait), by scope and name.',
    labelNames: ['scope', 'name'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });
  readonly fallbackCalls = new Counter({
    name: 'toolgate_fallback_calls_total',
    help: 'Calls served by a fallback upstream, by tool, fallback upstream and reason (down, circuit-open, unavailable).',
    labelNames: ['tool', 'upstream', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'toolgate_' });
  }
}

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

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'toolgate_' });
  }
}

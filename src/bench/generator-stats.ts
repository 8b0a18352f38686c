/**
 * The load generator watching itself. A generator that is out of CPU or whose event loop stalls sends late and
 * reads answers late; its figures would then describe bench, not the target. These numbers make that visible.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** CPU share of one core above which the generator is likely the bottleneck. */
export const GENERATOR_CPU_WARN_PERCENT = 85;

/** Event-loop delay p99 above which latencies include the generator's own stalls. */
export const GENERATOR_LOOP_DELAY_WARN_MS = 20;

/** The generator's own resource use over a run. */
export interface GeneratorStats {
  cpuMs: number;
  /** 100 = one core fully busy (Node runs the load loop on one thread). */
  cpuPercent: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Human-readable warnings when the generator may have limited the measurement. */
  warnings: string[];
}

/** Starts measuring the generator; call the returned function to stop and read the figures. */
export function watchGenerator(): () => GeneratorStats {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  return () => {
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    // The histogram counts delay beyond the sampling resolution, in ns; an idle loop reads ~0.
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - 10) : 0);
    const stats: GeneratorStats = {
      cpuMs,
      cpuPercent: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0,
      loopDelayP50Ms: ms(loop.percentile(50)),
      loopDelayP99Ms: ms(loop.percentile(99)),
      loopDelayMaxMs: ms(loop.max),
      warnings: [],
    };
    stats.warnings = generatorWarnings(stats);
    return stats;
  };
}

/** Warnings for generator figures that may have limited the measurement. */
export function generatorWarnings(stats: Omit<GeneratorStats, 'warnings'>): string[] {
  const warnings: string[] = [];
  if (stats.cpuPercent >= GENERATOR_CPU_WARN_PERCENT) {
    warnings.push(
      `the load generator used ${stats.cpuPercent.toFixed(0)}% of a core: it may be the bottleneck (lower --concurrent, or run bench on another machine)`,
    );
  }
  if (stats.loopDelayP99Ms >= GENERATOR_LOOP_DELAY_WARN_MS) {
    warnings.push(
      `the generator's event loop stalled (p99 delay ${stats.loopDelayP99Ms.toFixed(1)} ms): latencies include its own delays`,
    );
  }
  return warnings;
}

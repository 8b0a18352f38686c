import { parseConfig } from '../../src/config/load.js';
import { Gateway, type GatewayOptions } from '../../src/gateway.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { ROOT } from './paths.js';

/** A gateway started in-process on a free port, from YAML whose relative paths resolve against the repo root. */
export interface TestGateway {
  gateway: Gateway;
  url: string;
  stop(): Promise<void>;
}

/** Starts a gateway for a test. Logs are silent unless TOOLGATE_TEST_LOG is set (e.g. `debug`). */
export async function startGateway(
  yaml: string,
  options: Partial<Omit<GatewayOptions, 'config'>> = {},
): Promise<TestGateway> {
  const loaded = parseConfig(yaml, { dir: ROOT });
  loaded.config.listen.port = 0;
  const level = (process.env['TOOLGATE_TEST_LOG'] ?? 'silent') as 'silent';
  const gateway = new Gateway({ config: loaded, logger: createLogger({ level }), ...options });
  await gateway.start();
  return { gateway, url: gateway.url ?? '', stop: () => gateway.stop() };
}

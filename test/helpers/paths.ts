import { fileURLToPath } from 'node:url';

/** Repository root (tests resolve fixture paths against it). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI. */
export const TOOLGATE_BIN = `${ROOT}bin/toolgate.js`;
/** Our controllable test MCP server (stdio). */
export const TEST_SERVER = `${ROOT}test/fixtures/servers/test-server.mjs`;
/** The official "everything" server, installed as a devDependency. */
export const EVERYTHING_SERVER = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

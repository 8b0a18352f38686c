/**
 * toolgate as a library: build a gateway in code, or define in-process tools for a `local` upstream.
 */
export { createGateway, Gateway, type GatewayOptions } from './gateway.js';
export {
  defineTool,
  ToolError,
  type DefinedTool,
  type ToolContext,
  type ToolReturn,
  type ToolSpec,
} from './upstreams/define-tool.js';
export { loadConfigFile, parseConfig, type LoadedConfig, type ConfigProblem } from './config/load.js';
export type { Config } from './config/schema.js';
export { ERROR_CODES, GatewayError, isGatewayError, type ErrorCode } from './errors.js';
export type {
  ContentBlock,
  Era,
  Next,
  Policy,
  Principal,
  ToolAnnotations,
  ToolCall,
  ToolDefinition,
  ToolEntry,
  ToolResult,
  Upstream,
} from './types.js';

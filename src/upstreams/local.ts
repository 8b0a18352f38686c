import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GatewayError } from '../errors.js';
import { ANONYMOUS } from '../types.js';
import type {
  JsonObject,
  Upstream,
  UpstreamCallOptions,
  UpstreamInfo,
  UpstreamListener,
  UpstreamState,
} from '../types.js';
import { isDefinedTool, toToolResult, type DefinedTool, type ToolContext } from './define-tool.js';

/** Options of a `LocalUpstream`. */
export interface LocalUpstreamOptions {
  name: string;
  /** Tools given directly (library use), or… */
  tools?: readonly DefinedTool[];
  /** …an ES module to load them from: its `default` or `tools` export, an array of `defineTool()` values. */
  module?: string;
  /** Directory `module` resolves against. */
  dir?: string;
}

const NOOP_PROGRESS = (): void => {};
const NEVER = new AbortController().signal;

/** In-process tools defined with `defineTool`: no transport, the handler runs in the gateway's event loop. */
export class LocalUpstream implements Upstream {
  readonly kind = 'local' as const;
  readonly name: string;
  private _state: UpstreamState = 'idle';
  private listener: UpstreamListener | undefined;
  private tools = new Map<string, DefinedTool>();
  private _info: UpstreamInfo | undefined;

  constructor(private readonly options: LocalUpstreamOptions) {
    this.name = options.name;
  }

  get state(): UpstreamState {
    return this._state;
  }

  get info(): UpstreamInfo | undefined {
    return this._info;
  }

  setListener(listener: UpstreamListener): void {
    this.listener = listener;
  }

  async start(): Promise<void> {
    this.setState('starting');
    let tools: readonly DefinedTool[];
    try {
      tools = this.options.tools ?? (await this.loadModule());
    } catch (err) {
      this.setState('down', (err as Error).message);
      throw err;
    }
    const map = new Map<string, DefinedTool>();
    for (const t of tools) {
      if (map.has(t.definition.name)) {
        this.setState('down', 'duplicate tool name');
        throw new GatewayError(
          'TG_STARTUP_FAILED',
          `upstream ${this.name}: two tools are named "${t.definition.name}"`,
        );
      }
      map.set(t.definition.name, t);
    }
    this.tools = map;
    this._info = {
      era: 'modern',
      protocolVersion: 'in-process',
      capabilities: { tools: { listChanged: false } },
      serverInfo: { name: this.name, version: 'local' },
    };
    this.setState('up');
  }

  async call(method: string, params: JsonObject | undefined, options: UpstreamCallOptions = {}): Promise<JsonObject> {
    if (this._state !== 'up') {
      throw new GatewayError('TG_UPSTREAM_UNAVAILABLE', `upstream ${this.name} is ${this._state}`);
    }
    switch (method) {
      case 'tools/list':
        return { tools: [...this.tools.values()].map((t) => t.definition) };
      case 'tools/call':
        return (await this.callTool(params ?? {}, options)) as unknown as JsonObject;
      case 'ping':
        return {};
      case 'prompts/list':
        return { prompts: [] };
      case 'resources/list':
        return { resources: [] };
      case 'resources/templates/list':
        return { resourceTemplates: [] };
      default:
        throw new GatewayError('TG_METHOD_NOT_FOUND', `upstream ${this.name} (local tools) does not serve ${method}`);
    }
  }

  private async callTool(params: JsonObject, options: UpstreamCallOptions) {
    const name = params['name'];
    const tool = typeof name === 'string' ? this.tools.get(name) : undefined;
    if (tool === undefined) throw new GatewayError('TG_UNKNOWN_TOOL', `Unknown tool: ${String(name)}`);
    const args = (params['arguments'] ?? {}) as JsonObject;
    const parsed = tool.parse(args);
    if (!parsed.ok) {
      return {
        content: [
          { type: 'text', text: `Invalid arguments for ${tool.definition.name}:\n- ${parsed.problems.join('\n- ')}` },
        ],
        isError: true,
      };
    }
    const onProgress = options.onProgress;
    const ctx: ToolContext = {
      signal: options.signal ?? NEVER,
      progress: onProgress
        ? (progress, total, message) => {
            const u: { progress: number; total?: number; message?: string } = { progress };
            if (total !== undefined) u.total = total;
            if (message !== undefined) u.message = message;
            onProgress(u);
          }
        : NOOP_PROGRESS,
      principal: options.principal ?? ANONYMOUS,
      correlationId: options.correlationId ?? '',
      log: options.log,
    };
    return toToolResult(await tool.handler(parsed.value, ctx));
  }

  async close(): Promise<void> {
    this.setState('stopped');
  }

  destroy(): void {
    // In-process handlers share the call's signal: the gateway's shutdown cancels them through it.
    this.setState('stopped');
  }

  private async loadModule(): Promise<readonly DefinedTool[]> {
    const spec = this.options.module;
    if (spec === undefined)
      throw new GatewayError('TG_STARTUP_FAILED', `upstream ${this.name}: no tools and no module given`);
    const file = resolve(this.options.dir ?? process.cwd(), spec);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      throw new GatewayError(
        'TG_STARTUP_FAILED',
        `upstream ${this.name}: cannot load module ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const exported = mod['tools'] ?? mod['default'];
    if (!Array.isArray(exported)) {
      throw new GatewayError(
        'TG_STARTUP_FAILED',
        `upstream ${this.name}: module ${file} must export an array of defineTool() values as default or "tools"`,
      );
    }
    exported.forEach((t, i) => {
      if (!isDefinedTool(t)) {
        throw new GatewayError(
          'TG_STARTUP_FAILED',
          `upstream ${this.name}: export [${i}] of ${file} was not made by defineTool()`,
        );
      }
    });
    return exported as DefinedTool[];
  }

  private setState(state: UpstreamState, reason?: string): void {
    if (this._state === state) return;
    this._state = state;
    this.listener?.onStateChange(this, state, reason);
  }
}

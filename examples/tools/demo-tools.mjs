// In-process tools for the demo config: plain ES module, no build step.
// A `local` upstream loads the default export (or `tools`): an array of defineTool() values.
import { defineTool, ToolError } from 'toolgate';
import { z } from 'zod';

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export default [
  defineTool({
    name: 'echo',
    description: 'Returns the message it is given. Useful to check the gateway path end to end.',
    input: z.strictObject({ message: z.string().max(10_000).describe('Text to send back') }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    handler: ({ message }) => message,
  }),
  defineTool({
    name: 'add',
    description: 'Adds two numbers and returns the sum as structured output.',
    input: {
      type: 'object',
      properties: {
        a: { type: 'number', description: 'First addend' },
        b: { type: 'number', description: 'Second addend' },
      },
      required: ['a', 'b'],
      additionalProperties: false,
    },
    output: z.object({ sum: z.number() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    handler: ({ a, b }) => ({ sum: a + b }),
  }),
  defineTool({
    name: 'count_slowly',
    description: 'Counts to n, one step every delayMs milliseconds, reporting progress. Stops when cancelled.',
    input: z.strictObject({
      n: z.number().int().min(1).max(100).describe('How far to count'),
      delayMs: z.number().int().min(0).max(10_000).default(200).describe('Pause between steps'),
    }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    handler: async ({ n, delayMs }, ctx) => {
      for (let i = 1; i <= n; i++) {
        await sleep(delayMs, ctx.signal);
        ctx.progress(i, n, `step ${i} of ${n}`);
      }
      return `Counted to ${n}.`;
    },
  }),
  defineTool({
    name: 'weather',
    description: 'Returns a canned forecast for a city (demo data, no network).',
    input: z.strictObject({
      city: z.string().min(1).max(100).describe('City name'),
      units: z.enum(['metric', 'imperial']).default('metric').describe('metric (°C) or imperial (°F)'),
    }),
    output: z.object({ city: z.string(), forecast: z.string(), temperature: z.string() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    handler: ({ city, units }) => {
      if (city.toLowerCase() === 'atlantis')
        throw new ToolError('Unknown city "Atlantis": try a city that exists, e.g. "Lisbon".');
      const t = units === 'metric' ? '21 °C' : '70 °F';
      return { city, forecast: 'sunny', temperature: t };
    },
  }),
];

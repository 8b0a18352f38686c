import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBatchedLineWriter } from '../../src/jsonrpc/batched-writer.js';

function collect(stream: PassThrough): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8'))));
}

describe('createBatchedLineWriter', () => {
  it('coalesces the lines of one turn into a single write', async () => {
    const stream = new PassThrough();
    const writes: string[] = [];
    stream.on('data', (c: Buffer) => writes.push(c.toString('utf8')));
    const write = createBatchedLineWriter(stream);
    write('a');
    write('b');
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['a\nb\n']);
  });

  it('flush() writes queued lines so that ending the stream in the same turn loses none', async () => {
    const stream = new PassThrough();
    const text = collect(stream);
    const write = createBatchedLineWriter(stream);
    write('{"method":"resources/unsubscribe"}');
    write.flush();
    stream.end();
    expect(await text).toBe('{"method":"resources/unsubscribe"}\n');
  });
});

#!/usr/bin/env node
// Reference for the gateway benchmark: the least a JSON-RPC server over node:http can do per call —
// read the body, parse it, answer a tools/call with the echoed text. No MCP machinery at all.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const text = String(msg.params?.arguments?.message ?? '');
    const out = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text }] } });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(out);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

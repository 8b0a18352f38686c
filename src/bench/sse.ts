/**
 * Reading a Streamable HTTP response body: one JSON object, or an SSE stream whose `data:` fields carry JSON-RPC
 * messages (a priming event with empty data comes first on legacy servers; notifications may precede the answer).
 */

/** The JSON values of every non-empty SSE `data` field in `text`, in order. Unparseable data is reported. */
export function parseSseMessages(text: string): { messages: unknown[]; badEvents: number } {
  const messages: unknown[] = [];
  let badEvents = 0;
  let data: string[] = [];
  const flush = (): void => {
    if (data.length === 0) return;
    const joined = data.join('\n');
    data = [];
    if (joined.trim() === '') return;
    try {
      messages.push(JSON.parse(joined));
    } catch {
      badEvents++;
    }
  };
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    start = end + 1;
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(':')) continue; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') continue;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    data.push(value);
  }
  flush();
  return { messages, badEvents };
}

/** The JSON-RPC messages of a response body, by content type. Throws when a JSON body does not parse. */
export function bodyMessages(
  contentType: string | undefined,
  text: string,
): { messages: unknown[]; badEvents: number } {
  if (contentType !== undefined && contentType.includes('text/event-stream')) return parseSseMessages(text);
  if (text.trim() === '') return { messages: [], badEvents: 0 };
  const value: unknown = JSON.parse(text);
  return { messages: Array.isArray(value) ? value : [value], badEvents: 0 };
}

// TanStack's TypeScript server relaying the same upstream stream as bench/relay_bench.lua's nginx relays:
// @cloudflare/tanstack-ai's createWorkersAiChat (REST credentials) + @tanstack/ai's chat() and
// toServerSentEventsResponse on Node's http server.
//   node ts-relay.mjs <emulator url>     -> prints "LISTENING <port>", serves POST / (a RunAgentInput-like body)
// The adapter calls https://api.cloudflare.com/client/v4/...; fetch is redirected to the emulator's same path.
import http from 'node:http';
import { Readable } from 'node:stream';
import { chat, toServerSentEventsResponse } from '@tanstack/ai';
import { createWorkersAiChat } from '@cloudflare/tanstack-ai';

const [emulator] = process.argv.slice(2);
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const moved = url.replace(/^https:\/\/api\.cloudflare\.com/, emulator);
  if (typeof input === 'string' || input instanceof URL) return realFetch(moved, init);
  return realFetch(new Request(moved, input), init);
};

const adapter = createWorkersAiChat('@cf/meta/llama-3.1-8b-instruct-fp8', { accountId: '0123456789abcdef0123456789abcdef',
  apiKey: 'bench-key' });

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const stream = chat({ adapter, messages: body.messages, threadId: body.threadId, runId: body.runId });
  const response = toServerSentEventsResponse(stream);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  Readable.fromWeb(response.body).pipe(res);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

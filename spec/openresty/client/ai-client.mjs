// Drive the nginx chat endpoint with the real @tanstack/ai-client (from npm).
//   node ai-client.mjs <url> <prompt> [sse|ndjson]
// Prints { messages (ChatClient's UIMessages), chunkTypes, error, connect: { chunks } } where `connect` holds the
// chunks the connection adapter itself parsed (after its restoreInboundChunk) for a second, identical request.
import { ChatClient, fetchServerSentEvents, fetchHttpStream } from '@tanstack/ai-client';
import { bound, done } from './common.mjs';

bound(60);
const [url, prompt, format = 'sse'] = process.argv.slice(2);
const connect = format === 'ndjson' ? fetchHttpStream : fetchServerSentEvents;

const chunkTypes = [];
let error = null;
const client = new ChatClient({
  connection: connect(url),
  onChunk: (c) => chunkTypes.push(c.type),
  onError: (e) => { error = e.message; },
});
await client.sendMessage(prompt);
const messages = client.getMessages();

// The adapter alone: what fetchServerSentEvents / fetchHttpStream yield for the same conversation.
const adapter = connect(url);
const chunks = [];
try {
  const userMsg = { id: 'u1', role: 'user', parts: [{ type: 'text', content: prompt }] };
  for await (const c of adapter.connect([userMsg], {}, undefined, { threadId: 'thread-x', runId: 'run-x' })) {
    chunks.push(c);
  }
} catch (e) {
  chunks.push({ driverError: e.message });
}
done({ messages, chunkTypes, error, connect: { chunks } });

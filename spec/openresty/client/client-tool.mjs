// A client tool round trip with the real @tanstack/ai-client against the nginx chat endpoint.
//   node client-tool.mjs <url> <prompt>
// The ChatClient has one `.client(fn)` tool (show_notification). The model (the emulator, told by the test) calls
// it; the run ends with an interrupt; the client runs the tool, resumes (parentRunId + resume), and the server
// continues to the final answer.
// Prints { messages, requests (the request bodies), chunkTypes, interrupts (the RUN_FINISHED interrupt outcomes),
// expectedHashes (what the client computes for them), executed, interruptsDuringTool, error }.
import { ChatClient, fetchServerSentEvents } from '@tanstack/ai-client';
import { toolDefinition } from '@tanstack/ai';
import { canonicalInterruptJson, digestInterruptJson, hashSchemaInput } from '@tanstack/ai/client';
import { bound, done } from './common.mjs';

bound(60);
const [url, prompt] = process.argv.slice(2);

const requests = [];
const fetchClient = async (u, init) => {
  requests.push(JSON.parse(init.body));
  return fetch(u, init);
};

const executed = [];
let interruptsDuringTool = null;
let client;
const showNotification = toolDefinition({
  name: 'show_notification',
  description: 'Show a notification in the browser',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
}).client(async (input) => {
  await new Promise((r) => setTimeout(r, 20));
  executed.push(input);
  // a client-tool-execution interrupt whose binding checked out is internal: not in the public list
  interruptsDuringTool = client.getInterrupts().map((i) => ({ id: i.id, kind: i.kind }));
  return { shown: true, text: input.text };
});

const chunkTypes = [];
const interrupts = [];
let error = null;
client = new ChatClient({
  connection: fetchServerSentEvents(url, { fetchClient }),
  tools: [showNotification],
  onChunk: (c) => {
    chunkTypes.push(c.type);
    if (c.type === 'RUN_FINISHED' && c.outcome?.type === 'interrupt') interrupts.push(c.outcome.interrupts);
  },
  onError: (e) => { error = e.message; },
});

const settled = async (n) => {
  for (let i = 0; i < 500; i++) {
    if (requests.length >= n && !client.getIsLoading()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
};

await client.sendMessage(prompt);
await settled(2);

const expectedHashes = interrupts.flat().map((i) => ({
  id: i.id,
  responseSchemaHash: digestInterruptJson(canonicalInterruptJson(i.responseSchema)),
  outputSchemaHash: hashSchemaInput(undefined),
}));
done({ messages: client.getMessages(), requests, chunkTypes, interrupts, expectedHashes, executed,
  interruptsDuringTool, error });

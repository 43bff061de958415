// Reference for interrupts: @tanstack/ai's own chat() engine on a scripted adapter, encoded with
// toServerSentEventsStream. stdin = a scenario (spec/openresty/nginx_test.lua builds the same one for the Lua engine):
//   { tools: [{ name, description, inputSchema?, outputSchema?, needsApproval?, side: 'server'|'client', result? }],
//     (a server tool answers { input, result })
//     turns: [[adapter chunks of model call 1], [... call 2], ...], messages, threadId, runId, parentRunId?, resume? }
// stdout = { wire: [the SSE data payloads], calls: [the messages each model call received] }.
import { chat, toolDefinition, toServerSentEventsStream } from '@tanstack/ai';
import { bound, done } from './common.mjs';

bound(30);
const scenario = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

const calls = [];
const adapter = {
  kind: 'text',
  name: 'scripted',
  model: 'scripted-model',
  async *chatStream(options) {
    calls.push(options.messages.map((m) => ({ role: m.role, content: m.content ?? null,
      toolCalls: m.toolCalls?.map((tc) => ({ id: tc.id, name: tc.function.name, arguments: tc.function.arguments })),
      toolCallId: m.toolCallId })));
    const turn = scenario.turns[calls.length - 1] ?? [];
    for (const chunk of turn) yield { ...chunk, timestamp: Date.now() };
  },
  async structuredOutput() { throw new Error('not used'); },
};

const tools = scenario.tools.map((t) => {
  const def = toolDefinition({
    name: t.name,
    description: t.description,
    ...(t.inputSchema ? { inputSchema: t.inputSchema } : {}),
    ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
    ...(t.needsApproval ? { needsApproval: true } : {}),
  });
  // server tools answer { input, result } (keys in sorted order, as the Lua side encodes them)
  return t.side === 'server' ? def.server(async (input) => ({ input, result: t.result })) : def.client();
});

const stream = chat({
  adapter,
  messages: scenario.messages,
  tools,
  threadId: scenario.threadId,
  runId: scenario.runId,
  ...(scenario.parentRunId ? { parentRunId: scenario.parentRunId } : {}),
  ...(scenario.resume ? { resume: scenario.resume } : {}),
});
const reader = toServerSentEventsStream(stream).getReader();
const dec = new TextDecoder();
let text = '';
for (;;) {
  const { done: d, value } = await reader.read();
  if (d) break;
  text += dec.decode(value, { stream: true });
}
const wire = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
done({ wire, calls });

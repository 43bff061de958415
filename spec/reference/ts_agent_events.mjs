// The event types TanStack's TypeScript chat() emits for one agent loop with a tool, for
// spec/tanstack/ai/run_events_spec.lua: a scripted adapter answers turn 1 with a tool call (finishReason
// tool_calls) and turn 2 with text; the server tool `get_weather` runs between them. Prints one JSON line:
// {"types": ["RUN_STARTED", ...], "runIds": [...]}.
// Needs @tanstack/ai as pinned in bench/package-lock.json (npm ci --prefix bench).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bench = path.join(here, '..', '..', 'bench');
const entry = path.join(bench, 'node_modules', '@tanstack', 'ai', 'dist', 'esm', 'index.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('ts_agent_events: @tanstack/ai is not installed (npm ci --prefix bench)\n');
  process.exit(3);
}
const { chat, toolDefinition } = await import(pathToFileURL(entry).href);

const now = () => Date.now();
// AG-UI chunks as a provider adapter yields them (one model turn each): RUN_STARTED .. RUN_FINISHED.
function* turn(n, runId) {
  yield { type: 'RUN_STARTED', runId, threadId: 'thread-1', model: 'm', timestamp: now() };
  if (n === 1) {
    yield { type: 'TOOL_CALL_START', toolCallId: 'call-1', toolCallName: 'get_weather', toolName: 'get_weather',
      index: 0, model: 'm', timestamp: now() };
    yield { type: 'TOOL_CALL_ARGS', toolCallId: 'call-1', delta: '{"city":"Paris"}', model: 'm', timestamp: now() };
    yield { type: 'TOOL_CALL_END', toolCallId: 'call-1', toolCallName: 'get_weather', toolName: 'get_weather',
      input: { city: 'Paris' }, model: 'm', timestamp: now() };
    yield { type: 'RUN_FINISHED', runId, threadId: 'thread-1', finishReason: 'tool_calls', model: 'm',
      timestamp: now() };
    return;
  }
  yield { type: 'TEXT_MESSAGE_START', messageId: 'msg-2', role: 'assistant', model: 'm', timestamp: now() };
  yield { type: 'TEXT_MESSAGE_CONTENT', messageId: 'msg-2', delta: 'Sunny in Paris.', model: 'm', timestamp: now() };
  yield { type: 'TEXT_MESSAGE_END', messageId: 'msg-2', model: 'm', timestamp: now() };
  yield { type: 'RUN_FINISHED', runId, threadId: 'thread-1', finishReason: 'stop', model: 'm', timestamp: now() };
}

let calls = 0;
const adapter = {
  kind: 'text', name: 'scripted', model: 'm', '~types': {},
  async *chatStream(options) {
    calls += 1;
    yield* turn(calls, options.runId || 'run-' + calls);
  },
  async structuredOutput() { throw new Error('not used'); },
};

const getWeather = toolDefinition({
  name: 'get_weather',
  description: 'The weather of a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}).server(async ({ city }) => ({ city, sky: 'sunny' }));

const types = [];
const runIds = [];
for await (const ev of chat({ adapter, messages: [{ role: 'user', content: 'Weather in Paris?' }],
  tools: [getWeather] })) {
  types.push(ev.type);
  if (ev.type.startsWith('RUN_')) runIds.push(ev.runId);
}
process.stdout.write(JSON.stringify({ types, runIds, turns: calls }) + '\n');

// The TypeScript reference of make bench: TanStack AI's chat() (@tanstack/ai) with Cloudflare's Workers AI adapter
// (@cloudflare/tanstack-ai createWorkersAiChat, REST credentials), both pinned in bench/package.json, streaming the
// same emulator answer as bench/stream_bench.lua (N text deltas, OpenAI format) and consuming every chunk.
//   node bench/ts_stream.mjs <emulator url> [N] [rounds]
// The adapter calls https://api.cloudflare.com/client/v4/...; fetch is redirected to the emulator's same path (as in
// spec/openresty/client/ts-relay.mjs). Prints µs per text delta: CPU time of this process (process.cpuUsage, user +
// system; the emulator is another process) and wall time, median of the rounds after one warm-up round; then
// "BENCH <key> <value>" lines for bench/run.lua.
import { readFileSync } from 'node:fs';
import { chat } from '@tanstack/ai';
import { createWorkersAiChat } from '@cloudflare/tanstack-ai';

const [emulator, nArg, roundsArg] = process.argv.slice(2);
if (!emulator) {
  console.error('usage: node bench/ts_stream.mjs <emulator url> [N] [rounds]');
  process.exit(2);
}
const N = Number(nArg || 100000);
const ROUNDS = Number(roundsArg || 3);

const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const moved = url.replace(/^https:\/\/api\.cloudflare\.com/, emulator);
  if (typeof input === 'string' || input instanceof URL) return realFetch(moved, init);
  return realFetch(new Request(moved, input), init);
};

const adapter = createWorkersAiChat('@cf/meta/llama-3.1-8b-instruct-fp8', { accountId: '0123456789abcdef0123456789abcdef',
  apiKey: 'bench-key' });

async function next(scenario) {
  const r = await realFetch(`${emulator}/__emulator/next`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify(scenario) });
  await r.text();
}

async function once(n = N) {
  await next({ events: n });
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  let text = 0;
  let last;
  for await (const chunk of chat({ adapter, messages: [{ role: 'user', content: 'bench' }] })) {
    if (chunk.type === 'TEXT_MESSAGE_CONTENT') text += 1;
    last = chunk.type;
  }
  const wall = (performance.now() - w0) / 1000;
  const c = process.cpuUsage(c0);
  if (text !== n) throw new Error(`expected ${n} text chunks, got ${text} (last: ${last})`);
  return { cpu: (c.user + c.system) / 1e6, wall };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

await once(Math.max(1, Math.floor(N / 10))); // warm-up (JIT, connection)
const cpu = [];
const wall = [];
for (let i = 0; i < ROUNDS; i++) {
  const r = await once();
  cpu.push(r.cpu);
  wall.push(r.wall);
}
const cpuUs = (median(cpu) * 1e6) / N;
const wallUs = (median(wall) * 1e6) / N;
const pkg = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
const versions = ` (@tanstack/ai ${pkg('@tanstack/ai')}, @cloudflare/tanstack-ai ${pkg('@cloudflare/tanstack-ai')})`;
console.log(`node ${process.version}: chat() + createWorkersAiChat${versions}, ${N} text chunks, median of ${ROUNDS} rounds`);
console.log(`  CPU ${cpuUs.toFixed(3)} us/event, wall ${wallUs.toFixed(3)} us/event`);
console.log(`BENCH ts.cpu_us ${cpuUs.toPrecision(6)}`);
console.log(`BENCH ts.wall_us ${wallUs.toPrecision(6)}`);
console.log(`BENCH ts.node ${process.version}`);

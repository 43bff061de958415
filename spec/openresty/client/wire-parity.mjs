// Reference wire form: stdin = JSON array of in-process events; stdout = @tanstack/ai's toWireChunk of each,
// plus the SSE / NDJSON encoders' output for the whole list.
import { toServerSentEventsStream, toHttpStream } from '@tanstack/ai';
import { bound, done } from './common.mjs';

bound(30);
const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

async function* gen(list, failAt) {
  for (let i = 0; i < list.length; i++) {
    if (failAt !== undefined && i === failAt) throw Object.assign(new Error('synthetic failure'), { code: 'synthetic' });
    yield list[i];
  }
}
async function text(stream) {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let out = '';
  for (;;) {
    const { done: d, value } = await reader.read();
    if (d) break;
    out += dec.decode(value, { stream: true });
  }
  return out;
}
const sse = await text(toServerSentEventsStream(gen(input.events)));
const ndjson = await text(toHttpStream(gen(input.events)));
const failing = await text(toServerSentEventsStream(gen(input.events, input.failAt)));
const parse = (s, prefix) => s.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l.slice(prefix.length)));
done({ sse: parse(sse, 'data: '), ndjson: parse(ndjson, ''), failing: parse(failing, 'data: '),
  sseRaw: sse });

// The non-blocking proof. While one POST /api/chat streams a deliberately slow model answer (the emulator drips
// it over several seconds), other requests go to the same single nginx worker; they must be answered in a small
// fraction of that time.
//   node nonblocking.mjs <base url>
// Prints { slow: { firstByteMs, totalMs, events }, health: [ms...], chats: [ms...], overlap: bool }.
import { bound, done, runAgentInput } from './common.mjs';

bound(90);
const base = process.argv[2];
const now = () => performance.now();

async function readAll(res, onChunk) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  for (;;) {
    const { done: d, value } = await reader.read();
    if (d) break;
    text += dec.decode(value, { stream: true });
    if (onChunk) onChunk(text);
  }
  return text;
}

const t0 = now();
const slowRes = await fetch(base + '/api/chat', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify(runAgentInput('a slow answer please')),
});
let firstContent = null;
let resolveFirst;
const firstSeen = new Promise((r) => { resolveFirst = r; });
const slowDone = readAll(slowRes, (text) => {
  if (firstContent === null && text.includes('TEXT_MESSAGE_CONTENT')) { firstContent = now() - t0; resolveFirst(); }
}).then((text) => ({ text, totalMs: now() - t0 }));

await Promise.race([firstSeen, slowDone]);
const health = [];
const chats = [];
let slowFinishedBefore = false;
for (let i = 0; i < 5; i++) {
  const s = now();
  const r = await fetch(base + '/healthz');
  await r.text();
  health.push(now() - s);
}
for (let i = 0; i < 3; i++) {
  const s = now();
  const r = await fetch(base + '/api/chat', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(runAgentInput(`fast request ${i}`)),
  });
  const body = await r.text();
  if (!body.includes('RUN_FINISHED')) throw new Error('fast chat did not finish: ' + body.slice(0, 300));
  chats.push(now() - s);
}
const fastEnd = now() - t0;
const slow = await slowDone;
slowFinishedBefore = slow.totalMs <= fastEnd;
const events = slow.text.split('\n\n').filter((e) => e.startsWith('data: ')).length;
done({
  slow: { firstContentMs: firstContent, totalMs: slow.totalMs, events, finished: slow.text.includes('RUN_FINISHED') },
  health, chats, fastEndMs: fastEnd, overlap: !slowFinishedBefore,
});

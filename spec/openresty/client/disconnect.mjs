// Client disconnect mid-stream: read POST /api/chat until the first text event, then abort the fetch.
//   node disconnect.mjs <base url> <threadId>
import { bound, done, runAgentInput } from './common.mjs';

bound(60);
const [base, threadId] = process.argv.slice(2);
const ac = new AbortController();
const t0 = performance.now();
const res = await fetch(base + '/api/chat', {
  method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
  body: JSON.stringify(runAgentInput('please stream for a long time', { threadId })),
});
const reader = res.body.getReader();
const dec = new TextDecoder();
let text = '';
let sawContent = false;
try {
  for (;;) {
    const { done: d, value } = await reader.read();
    if (d) break;
    text += dec.decode(value, { stream: true });
    if (text.includes('TEXT_MESSAGE_CONTENT')) { sawContent = true; break; }
  }
} finally {
  ac.abort();
}
done({ status: res.status, sawContent, abortedAfterMs: performance.now() - t0, finished: text.includes('RUN_FINISHED') });

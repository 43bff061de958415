// The soak's load (bench/soak_bench.lua): N requests to one URL with C in flight over keep-alive connections
// (Node's standard library only). Prints one JSON line: { n, ok, statuses, ended, ms }.
//   node bench/soak_client.mjs <url> <n> <concurrency> <short|stream> [apiKey]
import http from 'node:http';

const [url, nArg, cArg, kind, key = ''] = process.argv.slice(2);
const n = Number(nArg);
const c = Number(cArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: c });
const body = JSON.stringify({ model: 'llama', stream: kind === 'stream', max_tokens: 16,
  messages: [{ role: 'user', content: 'soak' }] });
const statuses = {};
let sent = 0;
let ok = 0;
let ended = 0; // streams that ended with data: [DONE]
const t0 = Date.now();

function one() {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}) } }, (res) => {
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { tail = (tail + d).slice(-32); });
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 200) ok += 1;
        if (tail.endsWith('data: [DONE]\n\n')) ended += 1;
        resolve();
      });
    });
    req.on('error', (e) => { statuses[e.code ?? 'error'] = (statuses[e.code ?? 'error'] ?? 0) + 1; resolve(); });
    req.end(body);
  });
}

async function worker() {
  while (sent < n) {
    sent += 1;
    await one();
  }
}

await Promise.all(Array.from({ length: c }, worker));
agent.destroy();
console.log(JSON.stringify({ n, ok, statuses, ended, ms: Date.now() - t0 }));

// The upstream of bench/edge_bench.lua: a Workers AI OpenAI-format chat stream (the shape the emulator writes) whose
// pace is named by the last user message, and a record of when each stream's first token was written, on the
// clock the client reads (process.hrtime = CLOCK_MONOTONIC, as core.monotonic_ms).
//   "slow <events> <drip_ms>"   events text deltas, drip_ms apart (the first one at once)
//   "probe <id> <delay_ms>"     headers at once, one text delta delay_ms later (its write time recorded under id), stop
// GET /__first?id=<id> -> the monotonic ms at which probe id's first token was written (404 until then).
//   node bench/edge_upstream.mjs   -> prints "LISTENING <port>"
import http from "node:http";

const first = new Map();
const chunk = (delta, finish) => "data: " + JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk",
  created: 0, model: "@cf/meta/llama-3.1-8b-instruct",
  choices: [{ index: 0, delta, finish_reason: finish }] }) + "\n\n";
const TOK = chunk({ content: "tok " }, null);
const END = chunk({}, "stop") + "data: [DONE]\n\n";
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url.startsWith("/__first")) {
    const t = first.get(new URL(req.url, "http://x").searchParams.get("id"));
    res.writeHead(t === undefined ? 404 : 200, { "content-type": "text/plain" });
    res.end(t === undefined ? "" : String(t));
    return;
  }
  let body = "";
  req.on("data", (d) => { body += d; });
  req.on("end", () => {
    let words = ["slow", "3", "0"];
    try {
      const msgs = JSON.parse(body).messages || [];
      const last = msgs[msgs.length - 1];
      if (last && typeof last.content === "string") words = last.content.split(" ");
    } catch (_) { /* the default pace */ }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    if (words[0] === "probe") {
      setTimeout(() => {
        res.write(TOK);
        first.set(words[1], nowMs());
        res.end(END);
      }, Number(words[2]) || 20);
      return;
    }
    const n = Number(words[1]) || 3, drip = Number(words[2]) || 0;
    let sent = 0;
    const tick = () => {
      if (res.destroyed) return;
      res.write(TOK);
      sent += 1;
      if (sent >= n) res.end(END); else setTimeout(tick, drip);
    };
    tick();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log("LISTENING " + server.address().port));
// the bench may die without stopping us: leave with the parent
const parent = Number(process.argv[2]);
if (parent) setInterval(() => { try { process.kill(parent, 0); } catch (_) { process.exit(0); } }, 1000).unref();

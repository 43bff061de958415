// Control experiment for the non-blocking proof: while the worker runs a *blocking* libcurl transfer
// (GET /__blocking on the test server, ~1.5 s), time GET /healthz on the same worker. It must wait: this shows
// the measurement in nonblocking.mjs would catch a blocking transport.
//   node control.mjs <blocking url> <health url>
import { bound, done } from './common.mjs';

bound(60);
const [blockingUrl, healthUrl] = process.argv.slice(2);
const t0 = performance.now();
const blocking = fetch(blockingUrl).then((r) => r.json()).then((j) => ({ ...j, wallMs: performance.now() - t0 }));
await new Promise((r) => setTimeout(r, 300));
const s = performance.now();
const h = await fetch(healthUrl);
await h.text();
const healthMs = performance.now() - s;
done({ healthMs, blocking: await blocking });

// Local servers for the TLS conformance cases: two HTTPS servers, one with a certificate from the test CA
// (trusted when the client is told to trust that CA), one self-signed (never trusted); and a plain HTTP server whose
// keep-alive connections die on their second request (a pooled connection the server dropped).
//   node tls-server.mjs <dir with ca.pem, leaf.pem, leaf.key, rogue.pem, rogue.key> <parent pid>
// Prints "TLS LISTENING <trusted port> <untrusted port> <flaky http port>". Exits with its parent, or after 10 idle
// minutes.
import https from 'node:https';
import net from 'node:net';
import fs from 'node:fs';

const [dir, parentPid] = process.argv.slice(2);
const handler = (req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const out = JSON.stringify({ tls: true, method: req.method, path: req.url, sni: req.socket.servername || null,
      body });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
};
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const trusted = https.createServer({ key: fs.readFileSync(`${dir}/leaf.key`), cert: fs.readFileSync(`${dir}/leaf.pem`) }, handler);
const rogue = https.createServer({ key: fs.readFileSync(`${dir}/rogue.key`), cert: fs.readFileSync(`${dir}/rogue.pem`) }, handler);
// close idle keep-alive connections quickly (the stale-pooled-connection case)
trusted.keepAliveTimeout = 500;
const p1 = await listen(trusted);
const p2 = await listen(rogue);
let connCounter = 0;
const flaky = net.createServer((sock) => {
  const conn = ++connCounter;
  let n = 0;
  let buf = '';
  sock.on('error', () => {});
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    while (buf.includes('\r\n\r\n')) {
      buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
      n += 1;
      last = Date.now();
      if (n > 1) { sock.destroy(); return; }
      const body = JSON.stringify({ conn, n });
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Connection: keep-alive\r\n\r\n${body}`);
    }
  });
});
const p3 = await listen(flaky);
process.stdout.write(`TLS LISTENING ${p1} ${p2} ${p3}\n`);
let last = Date.now();
trusted.on('request', () => { last = Date.now(); });
rogue.on('request', () => { last = Date.now(); });
setInterval(() => {
  let parentAlive = true;
  try { process.kill(Number(parentPid), 0); } catch (e) { parentAlive = e.code !== 'ESRCH'; }
  if (!parentAlive || Date.now() - last > 600000) process.exit(0);
}, 500);
process.on('SIGTERM', () => process.exit(0));

// Two local HTTPS servers for the TLS conformance cases: one with a certificate from the test CA
// (trusted when the client is told to trust that CA), one self-signed (never trusted).
//   node tls-server.mjs <dir with ca.pem, leaf.pem, leaf.key, rogue.pem, rogue.key> <parent pid>
// Prints "TLS LISTENING <trusted port> <untrusted port>". Exits with its parent, or after 10 idle minutes.
import https from 'node:https';
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
const p1 = await listen(trusted);
const p2 = await listen(rogue);
process.stdout.write(`TLS LISTENING ${p1} ${p2}\n`);
let last = Date.now();
trusted.on('request', () => { last = Date.now(); });
rogue.on('request', () => { last = Date.now(); });
setInterval(() => {
  let parentAlive = true;
  try { process.kill(Number(parentPid), 0); } catch (e) { parentAlive = e.code !== 'ESRCH'; }
  if (!parentAlive || Date.now() - last > 600000) process.exit(0);
}, 500);
process.on('SIGTERM', () => process.exit(0));

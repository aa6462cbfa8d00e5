// The peer of the TCPR benchmark (bench/tcpr.ts): plain kernel TCP in the peer's namespace,
// knowing nothing of TCPR. Listens on `address:port` and serves every connection in one
// mode (common.ts PeerConfig): sink (reports `result` with the throughput it received),
// source (after the first byte from the app, sends as fast as it can) or echo. Anything
// TCPR should have hidden from it — a reset, a FIN, a socket error — is reported as a
// `peer-saw` event, which the harness counts.
//
// Usage (by the harness): node peer.js CONFIG.json

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fail, receiveBulk, say, sendBulk, type PeerConfig } from './common.js';

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as PeerConfig;

const server = createServer({ noDelay: true, allowHalfOpen: true }, (sock) => {
  const who = `${sock.remoteAddress}:${sock.remotePort}`;
  sock.on('error', (e: NodeJS.ErrnoException) =>
    say({ event: 'peer-saw', what: `error ${e.code ?? e.message}`, who }),
  );
  sock.on('end', () => say({ event: 'peer-saw', what: 'FIN', who }));
  if (cfg.mode === 'sink') {
    receiveBulk(sock, cfg.window).then((r) => say({ event: 'result', ...r }), fail);
  } else if (cfg.mode === 'source') {
    sock.once('data', () => sendBulk(sock));
  } else {
    sock.on('data', (b: Buffer) => sock.write(b));
  }
});
server.on('error', fail);
server.listen(cfg.port, cfg.address, () => say({ event: 'listening' }));

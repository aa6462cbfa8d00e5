// The kernel-TCP peer of the TCPR stream tests, run in the peer namespace:
// `node tcpr-peer.js <config.json>`. A plain net server (or, for the server-side test, a
// plain client) that never knows about TCPR: per connection it sends its deterministic
// stream and hashes what it receives, and records any error, RST or early FIN. Results go
// to peer-result.json once every connection received the app's whole stream.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { streamBytes, type StreamConfig } from './tcpr-stream.js';

export interface PeerConnResult {
  received: number;
  sent: number;
  sha256: string;
  errors: string[];
  /** FIN seen before the app's whole stream arrived. */
  earlyEnd: boolean;
  closed: boolean;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as StreamConfig;
const results: PeerConnResult[] = [];
let complete = 0;

function serve(sock: Socket, k: number): void {
  const h = createHash('sha256');
  const r: PeerConnResult = {
    received: 0,
    sent: 0,
    sha256: '',
    errors: [],
    earlyEnd: false,
    closed: false,
  };
  results[k] = r;
  sock.setNoDelay(true);
  sock.on('data', (b: Buffer) => {
    h.update(b);
    r.received += b.length;
    if (r.received >= cfg.appBytes && !r.sha256) {
      r.sha256 = h.digest('hex');
      if (++complete === cfg.connections) report();
    }
  });
  sock.on('end', () => {
    if (r.received < cfg.appBytes) r.earlyEnd = true;
    report();
  });
  sock.on('error', (e) => {
    r.errors.push(`${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`);
    report();
  });
  sock.on('close', () => {
    r.closed = true;
    report();
  });
  void (async () => {
    while (r.sent < cfg.peerBytes && !sock.destroyed) {
      const n = Math.min(cfg.chunk, cfg.peerBytes - r.sent);
      const ok = sock.write(streamBytes(cfg.peerSeed + k, r.sent, n));
      r.sent += n;
      if (!ok) await new Promise((res) => sock.once('drain', res));
      await new Promise((res) => setTimeout(res, cfg.tickMs));
    }
  })();
}

function report(): void {
  writeFileSync(join(cfg.dir, 'peer-result.tmp'), JSON.stringify({ complete, results }));
  writeFileSync(join(cfg.dir, 'peer-result.json'), readFileSync(join(cfg.dir, 'peer-result.tmp')));
}

// Progress for a stalled run's diagnostics (the test reads it only on a timeout).
setInterval(() => {
  const progress = results.map((r) => (r ? { received: r.received, sent: r.sent } : null));
  writeFileSync(join(cfg.dir, 'peer-progress.tmp'), JSON.stringify(progress));
  writeFileSync(
    join(cfg.dir, 'peer-progress.json'),
    readFileSync(join(cfg.dir, 'peer-progress.tmp')),
  );
}, 1000).unref();

if (cfg.appListenPort === undefined) {
  // The app opens connection k from port appBasePort + k: that names its stream.
  const server = createServer({ noDelay: true }, (sock) =>
    serve(sock, sock.remotePort! - cfg.appBasePort),
  );
  server.listen(cfg.peerPort, cfg.peerAddress, () => console.log('listening'));
} else {
  for (let k = 0; k < cfg.connections; k++) {
    const sock = connect({
      host: cfg.appAddress,
      port: cfg.appListenPort,
      localAddress: cfg.peerAddress,
      localPort: cfg.peerPort + k,
    });
    serve(sock, k);
  }
}

// One side-channel query from the app's namespace (test/tcpr-nfqueue.test.ts):
// `node tcpr-query.js PORT PEERADDR PEERPORT` prints the connection's snapshot as JSON
// (addresses as text), or `{"error": ...}` and exits 1 when TCPR does not answer.

import { formatAddr, parseAddr } from '../../src/lib/ip.js';
import { TcprChannel } from '../../src/tcpr/client.js';

const [port, peer, peerPort] = process.argv.slice(2);
const channel = new TcprChannel({ timeoutMs: 200, tries: 5 });
try {
  const s = await channel.query({
    port: Number(port),
    peerAddr: parseAddr(peer!)!,
    peerPort: Number(peerPort),
  });
  process.stdout.write(
    // The holder's own value: Buffer.toJSON has already run on `v`.
    JSON.stringify(s, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      return raw instanceof Uint8Array ? formatAddr(raw) : v;
    }) + '\n',
  );
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e) }) + '\n');
  process.exitCode = 1;
} finally {
  channel.close();
}

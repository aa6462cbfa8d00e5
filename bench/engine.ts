// In-process pipeline benchmark (not a competitor comparison; the side-by-side figures
// come from bench/speaker.ts): the W1/W2 UPDATE streams of the speaker benchmark, framed
// and decoded by wire/ exactly as a Peer does, fed to a RouteEngine with one exporting
// monitor peer whose encoded UPDATEs are only counted. No sockets, so a --cpu-prof of this
// shows the speaker's own work per prefix without kernel or event-loop noise.
//
//   node --expose-gc dist/bench/engine.js [W1|W2] [prefixes]
//
// Flush is run every 64 messages, like the speaker's event loop (a Peer handles a batch
// of messages per job; the engine's flush is scheduled with setImmediate).

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAddr } from '../src/lib/ip.js';
import { systemClock } from '../src/lib/clock.js';
import { compilePolicy } from '../src/policy/index.js';
import { RouteEngine, type NeighborSpec } from '../src/speaker/engine/route-engine.js';
import { AS4_CONTEXT, Framer, decodeMessage, MSG } from '../src/wire/index.js';
import { modelFromRibDump } from './speaker/model.js';
import { makeW1, makeW2 } from './speaker/workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const data = resolve(root, '../shared/data');
const RIB_DUMP = 'RIPE-NCC-bgpdump/test_data/bview.20020722.2337.gz';

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'W1';
  const n = Number(process.argv[3] ?? (which === 'W1' ? 1_000_000 : 100_000));
  const model = await modelFromRibDump(join(data, RIB_DUMP), RIB_DUMP);
  const w = which === 'W2' ? makeW2(model, 10, n) : makeW1(model, n);
  const accept = compilePolicy({ default: 'accept' }, 'all');
  const reject = compilePolicy({ default: 'reject' }, 'none');
  if (!accept.ok || !reject.ok) throw new Error('policy');
  // As in bench/speaker: injectors are receive-only (export: none), the monitor takes all.
  const spec = (name: string, asn: number, receiveOnly: boolean): NeighborSpec => ({
    name,
    address: parseAddr(name)!,
    asn,
    rrClient: false,
    nextHopSelf: false,
    importPolicy: [accept.value],
    exportPolicy: [receiveOnly ? reject.value : accept.value],
    gracefulRestart: false,
    staleRoutesTime: 360,
  });
  const engine = new RouteEngine({
    localAsn: 65000,
    routerId: parseAddr('198.18.0.1')!,
    clock: systemClock,
    schedule: () => {},
  });
  const info = () => ({
    internal: false,
    peerBgpId: '198.18.9.9',
    families: [[1, 1]] as const,
    gracefulRestart: null,
    receive: AS4_CONTEXT,
    send: AS4_CONTEXT,
  });
  let outMsgs = 0;
  let outBytes = 0;
  const port = {
    send: (m: Uint8Array[]) => {
      outMsgs += m.length;
      for (const x of m) outBytes += x.length;
    },
    stop: () => {},
  };
  const ids = w.streams.map((s, i) => {
    const id = engine.addNeighbor(spec(`198.18.1.${i + 1}`, s.asn, true));
    engine.sessionUp(id, info(), port, parseAddr('198.18.1.254')!);
    return id;
  });
  const mon = engine.addNeighbor(spec('198.18.2.1', 65100, false));
  engine.sessionUp(mon, info(), port, parseAddr('198.18.2.254')!);

  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const framers = w.streams.map((s) => {
    const f = new Framer();
    f.push(s.bytes);
    return f;
  });
  let msgs = 0;
  let live = framers.length;
  while (live > 0) {
    live = 0;
    for (let i = 0; i < framers.length; i++) {
      for (let k = 0; k < 64; k++) {
        const raw = framers[i]!.next();
        if (!(raw instanceof Uint8Array)) break;
        const r = decodeMessage(raw, AS4_CONTEXT);
        if (!r.ok || r.message.type !== MSG.UPDATE) throw new Error('bad message');
        engine.receiveUpdate(ids[i]!, r.message);
        msgs++;
        if (k === 63) live++;
      }
      engine.flush();
    }
  }
  engine.flush();
  const ms = performance.now() - t0;
  global.gc?.();
  const heap = process.memoryUsage().heapUsed - heap0;
  const pfx = w.streams.reduce((s, x) => s + x.prefixes, 0);
  console.log(
    JSON.stringify({
      workload: which,
      prefixes: pfx,
      messagesIn: msgs,
      messagesOut: outMsgs,
      bytesOut: outBytes,
      ms: Math.round(ms),
      nsPerPrefix: Math.round((ms * 1e6) / pfx),
      heapMiB: Math.round(heap / 2 ** 20),
      heapBytesPerPrefix: Math.round(heap / pfx),
      attrSets: engine.pool.size,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    }),
  );
}

await main();

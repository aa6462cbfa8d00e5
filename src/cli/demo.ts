// `nonstop demo` is the README's main job: the bug-tolerant router demo, with real diverse
// daemons in network namespaces when this machine can run them (root, namespaces, BIRD 2,
// FRR, GoBGP, nftables: demo-btr-lab.ts) and with in-process replicas otherwise or with
// `--in-process` (demo-btr.ts); one line says which and why (`btrDemoMode`).
// `nonstop demo speaker` shows, on embedded data and in a few seconds, what the foundation
// does. No setup beyond `npm start`, no network, no root needed:
//   1. routes are encoded as BGP UPDATEs and sent as one TCP-like byte stream, cut at
//      random places, through the framer and decoder (as a session would see them);
//   2. malformed input gets its RFC 7606 outcome instead of a crash;
//   3. the routes are written as an MRT RIB dump and update log, read back by our
//      bgpdump-compatible formatter and, when installed, by bgpdump itself for comparison.
//   4. two nonstop speakers, built from embedded YAML, connect over an in-memory transport
//      and exchange routes; one stops with a Cease and the other withdraws.

import { seededRandom } from '../lib/random.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddr, formatPrefix, parseAddr, parsePrefix, type Prefix } from '../lib/ip.js';
import {
  AS_SEG,
  ATTR_DEFAULT_FLAGS,
  Framer,
  decodeMessage,
  describeNotification,
  encodeMessage,
  makeContext,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';
import { dumpMrtBytes } from '../mrt/dump.js';
import { MrtWriter } from '../mrt/writer.js';
import type { Command } from './command.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { MemoryNetwork } from '../net/memory.js';
import { MemoryFib } from '../fib/index.js';
import { parseSpeakerConfig } from '../speaker/config/index.js';
import { Speaker } from '../speaker/speaker.js';
import { labMissingBinaries, namespaceProblem } from '../lab/index.js';
import { runBtrDemo } from './demo-btr.js';
import { runBtrLabDemo } from './demo-btr-lab.js';

/** Documentation ASNs (RFC 5398) and benchmarking/documentation addresses only. */
interface DemoRoute {
  prefix: string;
  path: number[];
  nextHop: string;
  communities?: [number, number][];
  med?: number;
}

const ROUTES: DemoRoute[] = [
  { prefix: '198.18.0.0/24', path: [64496, 65536, 64500], nextHop: '198.19.0.1', med: 10 },
  { prefix: '198.18.1.0/24', path: [64496, 65536, 64500], nextHop: '198.19.0.1', med: 10 },
  {
    prefix: '198.18.8.0/21',
    path: [64496, 64501],
    nextHop: '198.19.0.1',
    communities: [[64496, 100]],
  },
  { prefix: '198.19.128.0/17', path: [64496, 65551, 64510, 64511], nextHop: '198.19.0.1' },
  { prefix: '2001:db8:100::/40', path: [64496, 65536], nextHop: '2001:db8::1' },
  { prefix: '2001:db8:200::/48', path: [64496, 64502, 64502, 64502], nextHop: '2001:db8::1' },
];

const PEER = { asn: 64496, address: parseAddr('198.19.0.1')!, bgpId: parseAddr('198.19.0.1')! };
const LOCAL = { asn: 65550, address: parseAddr('198.19.0.2')! };
const ctx = makeContext({ as4: true });

function attributesOf(r: DemoRoute, prefix: Prefix): PathAttribute[] {
  const f = ATTR_DEFAULT_FLAGS;
  const attrs: PathAttribute[] = [
    { kind: 'origin', code: 1, flags: f[1]!, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: f[2]!,
      asnWidth: 4,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: r.path }],
    },
  ];
  if (prefix.afi === 1)
    attrs.push({ kind: 'next-hop', code: 3, flags: f[3]!, nextHop: parseAddr(r.nextHop)! });
  if (r.med !== undefined) attrs.push({ kind: 'med', code: 4, flags: f[4]!, med: r.med });
  if (r.communities) {
    attrs.push({
      kind: 'communities',
      code: 8,
      flags: f[8]!,
      communities: r.communities.map(([a, b]) => ((a << 16) | b) >>> 0),
    });
  }
  if (prefix.afi === 2) {
    attrs.unshift({
      kind: 'mp-reach',
      code: 14,
      flags: f[14]!,
      afi: 2,
      safi: 1,
      nextHop: parseAddr(r.nextHop)!,
      reserved: 0,
      nlri: [{ prefix }],
    });
  }
  return attrs.sort((a, b) => a.code - b.code);
}

function updateOf(r: DemoRoute): UpdateMessage {
  const prefix = parsePrefix(r.prefix)!;
  return {
    type: 2,
    withdrawn: [],
    attributes: attributesOf(r, prefix),
    nlri: prefix.afi === 1 ? [{ prefix }] : [],
  };
}

function section(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

function streamDemo(messages: Uint8Array[]): void {
  section('1. a BGP byte stream, cut at random places, framed and decoded');
  const stream = Buffer.concat(messages);
  const rand = seededRandom(7);
  const framer = new Framer();
  const cuts: number[] = [];
  let decoded = 0;
  for (let off = 0; off < stream.length;) {
    const n = Math.min(stream.length - off, 1 + Math.floor(rand() * 40));
    cuts.push(n);
    framer.push(stream.subarray(off, off + n));
    off += n;
    for (let m = framer.next(); m !== undefined; m = framer.next()) {
      if (!(m instanceof Uint8Array)) throw new Error(`demo stream rejected: ${m.reason}`);
      const r = decodeMessage(m, ctx);
      if (!r.ok || r.message.type !== 2) throw new Error('demo stream: unexpected message');
      const u = r.message;
      const mp = u.attributes.find((a) => a.kind === 'mp-reach');
      const nlri = [...u.nlri, ...(mp?.kind === 'mp-reach' ? (mp.nlri ?? []) : [])];
      const path = u.attributes.find((a) => a.kind === 'as-path');
      const pathText =
        path?.kind === 'as-path' ? path.segments.flatMap((s) => s.asns).join(' ') : '';
      for (const n of nlri)
        process.stdout.write(
          `  UPDATE  ${formatPrefix(n.prefix).padEnd(20)} AS path ${pathText}\n`,
        );
      decoded++;
    }
  }
  process.stdout.write(
    `  ${stream.length} octets in ${cuts.length} chunks of 1–40 octets -> ${decoded} UPDATEs, ` +
      `each re-encoding to its original bytes: ${messages.every((m) => Buffer.compare(encodeMessage((decodeMessage(m, ctx) as { ok: true; message: UpdateMessage }).message, ctx), m) === 0)}\n`,
  );
}

function malformedDemo(good: Uint8Array): void {
  section('2. malformed input: typed RFC 7606 outcomes, never a crash');
  // ORIGIN is the first attribute: flags(1) type(1) len(1) value(1) after the 19-octet header
  // and the 2-octet withdrawn length and 2-octet attribute length.
  const badOrigin = good.slice();
  badOrigin[19 + 2 + 2 + 3] = 7;
  const r = decodeMessage(badOrigin, ctx);
  if (r.ok && r.message.type === 2) {
    const e = r.message.errors?.[0];
    process.stdout.write(
      `  ORIGIN value 7        -> ${r.message.treatAsWithdraw ? 'treat-as-withdraw' : 'accepted'}` +
        (e ? ` (${describeNotification(e.code, e.subcode)}: ${e.reason})` : '') +
        ', session stays up\n',
    );
  }
  const badMarker = good.slice();
  badMarker[3] = 0;
  const f = new Framer();
  f.push(badMarker);
  const h = f.next();
  if (h !== undefined && !(h instanceof Uint8Array)) {
    process.stdout.write(
      `  corrupted marker      -> ${h.action}, NOTIFICATION ${h.code}/${h.subcode} ${describeNotification(h.code, h.subcode)}\n`,
    );
  }
  const truncated = good.subarray(0, 30);
  const t = decodeMessage(truncated, ctx);
  if (!t.ok) {
    process.stdout.write(
      `  truncated message     -> ${t.error.action}, NOTIFICATION ${t.error.code}/${t.error.subcode} ${describeNotification(t.error.code, t.error.subcode)}\n`,
    );
  }
}

function mrtDemo(messages: Uint8Array[]): void {
  section('3. MRT: a RIB dump and an update log, read back by us and by bgpdump');
  const t0 = 1763683200; // 2025-11-21 00:00:00 UTC
  const w = new MrtWriter();
  w.peerIndexTable(t0, {
    collectorId: LOCAL.address,
    viewName: 'nonstop-demo',
    peers: [{ asn: PEER.asn, address: PEER.address, bgpId: PEER.bgpId }],
  });
  ROUTES.forEach((r, i) => {
    const prefix = parsePrefix(r.prefix)!;
    w.rib(t0, {
      sequence: i,
      prefix,
      entries: [{ peerIndex: 0, originated: t0 - 3600, attributes: attributesOf(r, prefix) }],
    });
  });
  messages.forEach((m, i) =>
    w.message(t0 + 60, 1000 * i, {
      peerAs: PEER.asn,
      localAs: LOCAL.asn,
      peerAddress: PEER.address,
      localAddress: LOCAL.address,
      message: m,
    }),
  );
  const bytes = w.take();
  const ours = dumpMrtBytes(bytes, { mode: 'm' });
  process.stdout.write(ours.replace(/^/gm, '  ').trimEnd() + '\n');
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-demo-'));
  try {
    const file = join(dir, 'demo.mrt');
    writeFileSync(file, bytes);
    const bd = spawnSync('bgpdump', ['-m', file], { encoding: 'latin1' });
    if (bd.error) {
      process.stdout.write(
        '  (bgpdump is not installed; run `npm run setup` to compare with it)\n',
      );
    } else {
      const same = bd.stdout === ours;
      const lines = ours.split('\n').length - 1;
      process.stdout.write(
        `  ${bytes.length} octets of MRT; bgpdump -m on the same file: ${same ? `identical (${lines} lines)` : 'DIFFERENT'}\n`,
      );
      if (!same) process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SPEAKER_A = `
router-id: 198.18.0.1
asn: 65001
listen: [{ address: 198.18.0.1, port: 179 }]
static:
  - { prefix: 198.18.100.0/24, communities: [65001:100] }
  - { prefix: "2001:db8:100::/48" }
policies: { all: { default: accept } }
neighbors:
  - address: 198.18.0.2
    asn: 4200000002
    families: [ipv4-unicast, ipv6-unicast]
    import: [all]
    export: [all]
`;
const SPEAKER_B = `
router-id: 198.18.0.2
asn: 4200000002
listen: [{ address: 198.18.0.2, port: 179 }]
policies: { all: { default: accept } }
neighbors:
  - address: 198.18.0.1
    asn: 65001
    families: [ipv4-unicast, ipv6-unicast]
    passive: true
    import: [all]
    export: [all]
`;

async function speakerDemo(): Promise<void> {
  section('4. two nonstop speakers (in-process, in-memory transport): a session and routes');
  const net = new MemoryNetwork();
  const logger = createLogger({ level: 'error', sink: () => {} });
  const mk = (yaml: string, addr: string, fib: MemoryFib): Speaker => {
    const cfg = parseSpeakerConfig(yaml, 'demo.yaml');
    if (!cfg.ok) throw new Error(`demo config: ${cfg.error.map((e) => e.message).join('; ')}`);
    return new Speaker(cfg.value, { connector: net.host(addr), clock: systemClock, logger, fib });
  };
  const fibB = new MemoryFib();
  const a = mk(SPEAKER_A, '198.18.0.1', new MemoryFib());
  const b = mk(SPEAKER_B, '198.18.0.2', fibB);
  await b.start();
  await a.start();
  for (let i = 0; i < 100 && b.engine.locRib.size < 2; i++)
    await new Promise((r) => setTimeout(r, 10));
  process.stdout.write(
    `  A (AS65001) sees ${JSON.stringify(a.states())}; B (AS4200000002) sees ${JSON.stringify(b.states())}\n`,
  );
  for (const p of ['198.18.100.0/24', '2001:db8:100::/48']) {
    const e = b.engine.ribEntry(parsePrefix(p)!);
    const best = e?.paths.find((x) => x.best);
    const path = best?.route.attrs.asPath.flatMap((seg) => seg.asns).join(' ');
    process.stdout.write(
      `  B learned ${p.padEnd(18)} AS path ${path ?? '-'}  (${e?.reason ?? 'not learned'})\n`,
    );
  }
  const fib = await fibB.list();
  process.stdout.write(
    `  B's FIB: ${fib.map((r) => `${formatPrefix(r.prefix)} via ${formatAddr(r.nextHops[0]!.gateway)}`).join(', ')}\n`,
  );
  await a.stop('demo over');
  await new Promise((r) => setTimeout(r, 20));
  process.stdout.write(
    `  A stopped with Cease / Administrative Shutdown: B now sees ${JSON.stringify(b.states())}, ${b.engine.locRib.size} route(s) left\n`,
  );
  await b.stop('demo over');
}

const USAGE = `usage: nonstop demo [--in-process | speaker]

  nonstop demo           a bug-tolerant router masking a buggy replica, live (the README's
                         main command): what the neighbours receive, the voters' fault
                         reports naming the buggy replica, the supervisor's restart. As root,
                         with network namespaces and BIRD 2, FRR, GoBGP and nftables
                         installed: real daemons in namespaces (replicas nonstop, BIRD 2 and
                         GoBGP, neighbours BIRD 2 and FRR; about 20-40 s); otherwise three
                         in-process nonstop replicas with diversity (about 1 s). Its first
                         lines say which, and why.
  nonstop demo --in-process
                         the in-process demo, whatever this machine can run (also shows the
                         FIB voter's result)
  nonstop demo speaker   the foundation: BGP codec on a randomly split byte stream, RFC 7606
                         handling of malformed input, MRT writing and bgpdump-compatible
                         reading, and two nonstop speakers exchanging routes in memory
`;

/** The lab daemon kinds the real-daemon demo needs (src/lab/preflight.ts). */
const LAB_DEMO_KINDS = ['bird', 'frr', 'gobgp', 'btr'];

export interface BtrDemoProbe {
  readonly root: () => boolean;
  /** Missing binaries, as sentences. */
  readonly missing: () => string[];
  /** Why network namespaces cannot be used, if they cannot. */
  readonly namespaces: () => string | undefined;
}

const hostProbe: BtrDemoProbe = {
  root: () => process.getuid?.() === 0,
  missing: () => labMissingBinaries(LAB_DEMO_KINDS),
  namespaces: namespaceProblem,
};

/** Which BTR demo runs here, and why: the first part of its mode line. */
export function btrDemoMode(
  inProcess: boolean,
  probe: BtrDemoProbe = hostProbe,
): { mode: 'lab' | 'in-process'; why: string } {
  if (inProcess) return { mode: 'in-process', why: '--in-process given' };
  if (!probe.root()) return { mode: 'in-process', why: 'not root' };
  const missing = probe.missing();
  if (missing.length > 0) return { mode: 'in-process', why: missing.join('; ') };
  const ns = probe.namespaces();
  if (ns !== undefined) return { mode: 'in-process', why: ns };
  return {
    mode: 'lab',
    why: 'root, network namespaces, BIRD 2, FRR, GoBGP and nftables available',
  };
}

async function speakerDemoAll(): Promise<number> {
  process.stdout.write('nonstop demo speaker — the foundation (codec, MRT, speaker)\n');
  const messages = ROUTES.map((r) => encodeMessage(updateOf(r), ctx));
  streamDemo(messages);
  malformedDemo(messages[0]!);
  mrtDemo(messages);
  await speakerDemo();
  process.stdout.write(
    '\nNext: `npx nonstop demo` (the bug-tolerant router), `npx nonstop speaker -c FILE` (docs/speaker.md), `npm test`.\n',
  );
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'a bug-tolerant router masking a buggy replica, live: real daemons as root, else in-process (the README main job); demo speaker',
  async run(args: string[]): Promise<number> {
    if (args.includes('-h') || args.includes('--help')) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (args[0] === 'speaker' && args.length === 1) return speakerDemoAll();
    const inProcess = args[0] === '--in-process' && args.length === 1;
    if (args.length > 0 && !inProcess) {
      const bad = args.find((a) => a !== '--in-process' && a !== 'speaker') ?? args.join(' ');
      process.stderr.write(`nonstop demo: unknown argument '${bad}'\n\n${USAGE}`);
      return 2;
    }
    const { mode, why } = btrDemoMode(inProcess);
    const write = (s: string): void => void process.stdout.write(s);
    const r =
      mode === 'lab' ? await runBtrLabDemo(write, why) : await runBtrDemo(write, undefined, why);
    return r.ok ? 0 : 1;
  },
};

// A neighbour that replays a real MRT trace into a router (`ip netns exec <ns> node
// dist/test/support/btr-trace-feeder.js CONFIG.json`, run in the neighbour's namespace): the IPv4
// UPDATEs one original peer of the trace sent, rewritten to come from this neighbour, over
// one BGP session (test/support/bgp-client.ts).
//
// Rewriting, so that every implementation of the router can take the routes as they are
// and must agree on them: ORIGIN kept; AS_PATH with the neighbour's AS prepended (BIRD and
// FRR check the first AS, RFC 4271 §6.3), confederation segments dropped; NEXT_HOP the
// neighbour's address; COMMUNITIES kept but for the well-known ones (0xFFFF0000 and up,
// RFC 1997) and 0:x, which some implementations act on; every other attribute dropped (MED,
// LOCAL_PREF, AGGREGATOR and the rest are treated differently across implementations when
// passed on, and are not what the test is about). Prefixes of the lab's own 198.18.0.0/15
// and the default route are left out.
//
// Pacing: the UPDATEs go in trace order, in *rounds*: a round ends before an UPDATE that
// touches a prefix the round already touched (or at `maxRound` UPDATEs), and the next round
// is sent `gapMs` later. So within a round each prefix changes at most once, and a router
// that keeps up within the gap advertises every change of the trace: what it sends does not
// depend on how its replicas happened to batch their work.
//
// The replay starts on SIGUSR1, once the session is up. Output: JSON lines `{ plan }`,
// `{ established }`, `{ round, of }` (before each round is sent), `{ done }`, each with
// `wall` (Date.now()). SIGTERM closes the session.

import { readFileSync } from 'node:fs';
import { formatPrefix, parseIPv4 } from '../../src/lib/ip.js';
import { decodeBgp4mpMessage } from '../../src/mrt/records.js';
import { readMrt } from '../../src/mrt/reader.js';
import { AS4_CONTEXT, MSG, type PathAttribute, type UpdateMessage } from '../../src/wire/index.js';
import { BgpClient } from './bgp-client.js';

export interface FeederConfig {
  readonly trace: string;
  /** The original peer whose UPDATEs are replayed. */
  readonly peer: { readonly asn: number; readonly address: string };
  readonly asn: number;
  readonly address: string;
  readonly router: string;
  /** Default 250 ms. */
  readonly gapMs?: number;
  /** Default 500 UPDATEs. */
  readonly maxRound?: number;
  /** Only the first this many UPDATEs of the peer (default all). */
  readonly limit?: number;
}

export type FeederLine =
  | {
      readonly plan: { updates: number; rounds: number; prefixes: number; changes: number };
      readonly wall: number;
    }
  | { readonly established: true; readonly wall: number }
  | { readonly round: number; readonly of: number; readonly wall: number }
  | { readonly done: true; readonly wall: number };

const print = (o: object): void =>
  void process.stdout.write(`${JSON.stringify({ ...o, wall: Date.now() })}\n`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ours(prefix: string): boolean {
  return prefix === '0.0.0.0/0' || /^198\.1[89]\./.test(prefix);
}

/** The trace peer's UPDATEs, rewritten (see the header). */
async function traceUpdates(cfg: FeederConfig): Promise<Omit<UpdateMessage, 'type'>[]> {
  const nextHop = parseIPv4(cfg.address)!;
  const out: Omit<UpdateMessage, 'type'>[] = [];
  for await (const r of readMrt(cfg.trace)) {
    if (r.kind !== 'message' || r.local || r.peerAs !== cfg.peer.asn) continue;
    if ([...r.peerAddress].join('.') !== cfg.peer.address) continue;
    const d = decodeBgp4mpMessage(r);
    if (!d.ok || d.message.type !== MSG.UPDATE) continue;
    const u = d.message;
    if (u.attributes.some((a) => a.kind === 'mp-reach' || a.kind === 'mp-unreach')) continue;
    const nlri = u.nlri.filter((n) => !ours(formatPrefix(n.prefix)));
    const withdrawn = u.withdrawn.filter((n) => !ours(formatPrefix(n.prefix)));
    if (nlri.length === 0 && withdrawn.length === 0) continue;
    const attributes: PathAttribute[] = [];
    if (nlri.length > 0) {
      for (const a of u.attributes) {
        if (a.kind === 'origin') attributes.push(a);
        if (a.kind === 'as-path') {
          const segs = a.segments.filter((s) => s.type === 1 || s.type === 2);
          const first = segs[0];
          const segments =
            first?.type === 2
              ? [{ type: 2, asns: [cfg.asn, ...first.asns] }, ...segs.slice(1)]
              : [{ type: 2, asns: [cfg.asn] }, ...segs];
          attributes.push({ ...a, asnWidth: 4, segments });
        }
        if (a.kind === 'communities') {
          const cs = a.communities.filter((c) => c < 0xffff0000 && c >>> 16 !== 0);
          if (cs.length > 0) attributes.push({ ...a, communities: cs });
        }
      }
      attributes.push({ kind: 'next-hop', code: 3, flags: 0x40, nextHop });
    }
    out.push({ withdrawn, attributes: nlri.length > 0 ? attributes : [], nlri });
    if (cfg.limit !== undefined && out.length >= cfg.limit) break;
  }
  return out;
}

/** Rounds in which each prefix changes at most once (see the header). */
function rounds(
  updates: readonly Omit<UpdateMessage, 'type'>[],
  maxRound: number,
): Omit<UpdateMessage, 'type'>[][] {
  const out: Omit<UpdateMessage, 'type'>[][] = [];
  let cur: Omit<UpdateMessage, 'type'>[] = [];
  let touched = new Set<string>();
  for (const u of updates) {
    const ps = [...u.nlri, ...u.withdrawn].map((n) => formatPrefix(n.prefix));
    if (cur.length >= maxRound || ps.some((p) => touched.has(p))) {
      out.push(cur);
      cur = [];
      touched = new Set();
    }
    cur.push(u);
    for (const p of ps) touched.add(p);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: btr-trace-feeder.js CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as FeederConfig;
  const updates = await traceUpdates(cfg);
  const plan = rounds(updates, cfg.maxRound ?? 500);
  const prefixes = new Set(
    updates.flatMap((u) => [...u.nlri, ...u.withdrawn].map((n) => formatPrefix(n.prefix))),
  );
  const changes = updates.reduce((s, u) => s + u.nlri.length + u.withdrawn.length, 0);
  print({
    plan: { updates: updates.length, rounds: plan.length, prefixes: prefixes.size, changes },
  });
  let client: BgpClient | undefined;
  while (!client) {
    try {
      client = await BgpClient.connect(
        { host: cfg.router, port: 179, localAddress: cfg.address },
        { asn: cfg.asn, bgpId: cfg.address, holdTime: 90 },
      );
    } catch {
      await sleep(200);
    }
  }
  const c = client;
  process.on('SIGTERM', () => void c.close().finally(() => process.exit(0)));
  await c.handshake(30_000);
  c.send = AS4_CONTEXT;
  // End-of-RIB (RFC 4724 §2): an empty table to start with, as a neighbour with nothing yet.
  c.sendUpdate({ withdrawn: [], attributes: [], nlri: [] });
  print({ established: true });
  // The replay starts on SIGUSR1: the test waits for every replica to vote first.
  await new Promise<void>((resolve) => process.once('SIGUSR1', () => resolve()));
  for (const [i, round] of plan.entries()) {
    print({ round: i, of: plan.length });
    for (const u of round) c.sendUpdate(u);
    await sleep(cfg.gapMs ?? 250);
  }
  print({ done: true });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `btr-trace-feeder: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});

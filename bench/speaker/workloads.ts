// The four workloads as pre-encoded byte streams, one per injector session. W1, W2 and W4
// are synthetic tables drawn from a TableModel with a seeded generator (the same bytes on
// every run and machine); W3 is the RIS update trace, split by original peer, with next
// hops rewritten to the injector's lab address and a sentinel route appended to every
// session so the monitor can tell when the DUT has worked through each stream.

import { seededRandom as rng } from '../../src/lib/random.js';
import { formatAddr } from '../../src/lib/ip.js';
import { readMrtBatches } from '../../src/mrt/reader.js';
import { decodeBgp4mpMessage } from '../../src/mrt/records.js';
import {
  AS4_CONTEXT,
  effectiveAsPath,
  encodeMessage,
  MSG,
  type PathAttribute,
  type UpdateMessage,
} from '../../src/wire/index.js';
import {
  ByteWriter,
  appendUpdates,
  encodeAttributes,
  nlriBytes,
  type AttributeSet,
} from './encode.js';
import type { SetShape, TableModel } from './model.js';

export type Family = 'ipv4' | 'ipv6';

export interface InjectorStream {
  /** Session transport family; the session carries only this family. */
  family: Family;
  /** The injector's AS on this session (first ASN of every path it sends). */
  asn: number;
  bytes: Buffer;
  messages: number;
  prefixes: number;
  /** Original peer (W3). */
  origin?: string;
}

export interface Workload {
  id: string;
  title: string;
  streams: InjectorStream[];
  /** The monitor is done when it has counted this many announced prefixes… */
  expectPrefixes?: number;
  /** …or, with sentinels, when it has seen every session's sentinel route. */
  sentinels?: number;
  notes: string[];
}

/** Sampler for an integer histogram (index = value). */
function histogramSampler(hist: readonly number[], rand: () => number): () => number {
  const cum: number[] = [];
  let total = 0;
  for (const c of hist) cum.push((total += c));
  return () => {
    const x = rand() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Lab addressing: injector sessions on the injector–DUT link, the monitor on its own. */
export const ADDR = {
  dut4: '198.18.0.1',
  dut6: '2001:db8::1',
  inj4: (i: number): string => `198.18.${(i >> 8) & 0xff}.${10 + (i & 0xff)}`,
  inj6: (i: number): string => `2001:db8::${(0x100 + i).toString(16)}`,
  dutMon4: '198.19.0.1',
  dutMon6: '2001:db8:1::1',
  mon4: '198.19.0.2',
  mon6: '2001:db8:1::2',
  dutAsn: 65000,
  monAsn: 65100,
};

function v4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

function v6Bytes(s: string): Uint8Array {
  // Only the forms used in ADDR: "2001:db8::X" and "2001:db8:1::X".
  const [head, tail] = s.split('::') as [string, string];
  const h = head.split(':').map((x) => parseInt(x, 16));
  const t = tail ? tail.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return b;
}

/** A random public-looking ASN (2- or 4-octet, no private or reserved ranges). */
function randomAsn(rand: () => number): number {
  return rand() < 0.8 ? 1 + Math.floor(rand() * 64000) : 131072 + Math.floor(rand() * 270000);
}

/** Draws attribute sets from the model until `n` prefixes are covered. */
function drawSets(model: TableModel, n: number, rand: () => number): SetShape[] {
  const out: SetShape[] = [];
  let left = n;
  // Transit ASes near the top of paths repeat a lot in real tables: draw them from a pool.
  while (left > 0) {
    const s = model.sets[Math.floor(rand() * model.sets.length)]!;
    const size = Math.min(left, s.size);
    out.push({ ...s, size });
    left -= size;
  }
  return out;
}

function attributeSet(
  shape: SetShape,
  firstAsn: number,
  rand: () => number,
  pool: number[],
): AttributeSet {
  const path = [firstAsn];
  for (let i = 1; i < shape.pathLength; i++) {
    // Middle of the path from the transit pool, last (origin) AS anywhere.
    path.push(i < shape.pathLength - 1 ? pool[Math.floor(rand() * pool.length)]! : randomAsn(rand));
  }
  const a: AttributeSet = { origin: shape.origin, asPath: path };
  if (shape.med) a.med = Math.floor(rand() * 1000);
  if (shape.communities > 0) {
    a.communities = Array.from(
      { length: shape.communities },
      () => ((pool[Math.floor(rand() * pool.length)]! & 0xffff) << 16) | Math.floor(rand() * 65536),
    );
  }
  return a;
}

/** Random unique IPv4 prefixes, lengths from the model; avoids special and lab ranges. */
function v4PrefixGen(
  lengths: readonly number[],
  rand: () => number,
  seen: Set<number>,
): () => Uint8Array {
  const len = histogramSampler(lengths, rand);
  return () => {
    for (;;) {
      const l = Math.max(8, len());
      const a = Math.floor(rand() * 4294967296);
      const first = a >>> 24;
      if (first === 0 || first === 10 || first === 127 || first >= 224) continue;
      if (first === 198 && ((a >>> 16) & 0xfe) === 18) continue; // 198.18.0.0/15: the lab
      const masked = l === 32 ? a : (a & ~(0xffffffff >>> l)) >>> 0;
      const key = masked * 33 + l;
      if (seen.has(key)) continue;
      seen.add(key);
      const addr = Uint8Array.of(
        masked >>> 24,
        (masked >>> 16) & 0xff,
        (masked >>> 8) & 0xff,
        masked & 0xff,
      );
      return nlriBytes(addr, l);
    }
  };
}

/** Random unique IPv6 prefixes in 2000::/3 (not 2001:db8::/32), lengths from a histogram. */
function v6PrefixGen(
  lengths: readonly number[],
  rand: () => number,
  seen: Set<string>,
): () => Uint8Array {
  const len = histogramSampler(lengths, rand);
  return () => {
    for (;;) {
      const l = Math.max(16, len());
      const addr = new Uint8Array(16);
      for (let i = 0; i < 16; i++) addr[i] = Math.floor(rand() * 256);
      addr[0] = 0x20 | (addr[0]! & 0x1f);
      if (addr[0] === 0x20 && addr[1] === 0x01 && addr[2] === 0x0d && addr[3] === 0xb8) continue;
      const full = l >> 3;
      if (l & 7) addr[full] = addr[full]! & (0xff << (8 - (l & 7)));
      addr.fill(0, full + (l & 7 ? 1 : 0));
      const b = nlriBytes(addr, l);
      const key = b.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      return b;
    }
  };
}

/**
 * A synthetic table for one session: `n` prefixes in attribute sets drawn from the model,
 * sets in random order, each packed into UPDATEs of at most 4096 octets.
 */
function syntheticStream(
  model: TableModel,
  opts: {
    n: number;
    family: Family;
    asn: number;
    session: number;
    rand: () => number;
    prefix: () => Uint8Array;
    pool: number[];
  },
): InjectorStream {
  const w = new ByteWriter(Math.max(1 << 16, opts.n * 12));
  let messages = 0;
  const nh4 = opts.family === 'ipv4' ? v4Bytes(ADDR.inj4(opts.session)) : undefined;
  const nh6 = opts.family === 'ipv6' ? v6Bytes(ADDR.inj6(opts.session)) : undefined;
  for (const shape of drawSets(model, opts.n, opts.rand)) {
    const attrs = encodeAttributes(attributeSet(shape, opts.asn, opts.rand, opts.pool), nh4);
    const nlri = Array.from({ length: shape.size }, opts.prefix);
    messages += appendUpdates(w, attrs, nlri, nh6);
  }
  return { family: opts.family, asn: opts.asn, bytes: w.result(), messages, prefixes: opts.n };
}

function transitPool(rand: () => number): number[] {
  return Array.from({ length: 2000 }, () => randomAsn(rand));
}

/** W1: one injector, a full IPv4 table of `n` prefixes. */
export function makeW1(model: TableModel, n: number): Workload {
  const rand = rng(1);
  const seen = new Set<number>();
  const stream = syntheticStream(model, {
    n,
    family: 'ipv4',
    asn: 65001,
    session: 0,
    rand,
    prefix: v4PrefixGen(model.lengths, rand, seen),
    pool: transitPool(rand),
  });
  return {
    id: 'W1',
    title: `1 injector × ${n.toLocaleString('en')} IPv4 prefixes`,
    streams: [stream],
    expectPrefixes: n,
    notes: [],
  };
}

/** W2: `sessions` injectors, `n` distinct IPv4 prefixes each (no overlap between them). */
export function makeW2(model: TableModel, sessions: number, n: number): Workload {
  const rand = rng(2);
  const seen = new Set<number>();
  const prefix = v4PrefixGen(model.lengths, rand, seen);
  const pool = transitPool(rand);
  const streams = Array.from({ length: sessions }, (_, i) =>
    syntheticStream(model, { n, family: 'ipv4', asn: 65001 + i, session: i, rand, prefix, pool }),
  );
  return {
    id: 'W2',
    title: `${sessions} injectors × ${n.toLocaleString('en')} IPv4 prefixes`,
    streams,
    expectPrefixes: sessions * n,
    notes: [],
  };
}

/** W4: one injector, `n` IPv6 prefixes (lengths from the RIS trace, sets from the model). */
export function makeW4(model: TableModel, v6lengths: readonly number[], n: number): Workload {
  const rand = rng(4);
  const seen = new Set<string>();
  const stream = syntheticStream(model, {
    n,
    family: 'ipv6',
    asn: 65001,
    session: 0,
    rand,
    prefix: v6PrefixGen(v6lengths, rand, seen),
    pool: transitPool(rand),
  });
  return {
    id: 'W4',
    title: `1 injector × ${n.toLocaleString('en')} IPv6 prefixes`,
    streams: [stream],
    expectPrefixes: n,
    notes: [],
  };
}

/** The sentinel of session i: 198.18.(128+i).0/24 or 2001:db8:ffff:i::/64. */
export function sentinelNlri(family: Family, i: number): Buffer {
  return family === 'ipv4'
    ? nlriBytes(Uint8Array.of(198, 18, 128 + i, 0), 24)
    : nlriBytes(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, i >> 8, i & 0xff), 64);
}

/** Rewrites one traced UPDATE for session `i` of `family`; no `msg` if nothing is left. */
function rewriteUpdate(
  m: UpdateMessage,
  family: Family,
  i: number,
  as4: boolean,
): { msg?: UpdateMessage; prefixes: number; dropped: number } {
  const eff = effectiveAsPath(m.attributes, as4);
  const attrs: PathAttribute[] = [];
  let dropped = 0;
  let prefixes = 0;
  for (const a of m.attributes) {
    if (a.code === 17 || a.code === 18) continue; // AS4_PATH, AS4_AGGREGATOR: merged below
    if (a.kind === 'as-path') {
      attrs.push({ ...a, segments: eff.asPath, asnWidth: 4 });
    } else if (a.kind === 'aggregator') {
      if (eff.aggregator) attrs.push({ ...eff.aggregator, code: 7, asnWidth: 4 });
    } else if (a.kind === 'next-hop') {
      if (family === 'ipv4') attrs.push({ ...a, nextHop: v4Bytes(ADDR.inj4(i)) });
    } else if (a.kind === 'mp-reach') {
      if (family === 'ipv6' && a.afi === 2 && a.safi === 1) {
        attrs.push({ ...a, nextHop: v6Bytes(ADDR.inj6(i)) });
        prefixes += a.nlri?.length ?? 0;
      } else dropped += a.nlri?.length ?? 0;
    } else if (a.kind === 'mp-unreach') {
      if (family === 'ipv6' && a.afi === 2 && a.safi === 1) attrs.push(a);
      else dropped += a.withdrawn?.length ?? 0;
    } else {
      attrs.push(a);
    }
  }
  const keep4 = family === 'ipv4';
  if (!keep4) dropped += m.nlri.length + m.withdrawn.length;
  else prefixes += m.nlri.length;
  const msg: UpdateMessage = {
    type: MSG.UPDATE,
    withdrawn: keep4 ? m.withdrawn : [],
    nlri: keep4 ? m.nlri : [],
    attributes:
      keep4 && m.nlri.length === 0 ? [] : attrs.filter((a) => keep4 || a.kind !== 'next-hop'),
  };
  const hasMp = msg.attributes.some((a) => a.kind === 'mp-reach' || a.kind === 'mp-unreach');
  if (msg.nlri.length === 0 && msg.withdrawn.length === 0 && !hasMp) return { prefixes, dropped };
  // An IPv6 withdrawal alone carries only MP_UNREACH_NLRI.
  if (!keep4 && !msg.attributes.some((a) => a.kind === 'mp-reach')) {
    return {
      msg: { ...msg, attributes: msg.attributes.filter((a) => a.kind === 'mp-unreach') },
      prefixes,
      dropped,
    };
  }
  return { msg, prefixes, dropped };
}

/** W3: the RIS trace, one injector session per original peer, in trace order. */
export async function makeW3(path: string, label: string): Promise<Workload> {
  interface Acc {
    origin: string;
    family: Family;
    asn: number;
    w: ByteWriter;
    messages: number;
    prefixes: number;
  }
  const peers = new Map<string, Acc>();
  let dropped = 0;
  let undecodable = 0;
  let skippedOther = 0;
  for await (const batch of readMrtBatches(path)) {
    for (const r of batch) {
      if (r.kind !== 'message' || r.local || r.message[18] !== MSG.UPDATE) continue;
      const addr = formatAddr(r.peerAddress);
      let p = peers.get(addr);
      if (!p) {
        p = {
          origin: `${addr} AS${r.peerAs}`,
          family: r.afi === 2 ? 'ipv6' : 'ipv4',
          asn: r.peerAs,
          w: new ByteWriter(1 << 16),
          messages: 0,
          prefixes: 0,
        };
        peers.set(addr, p);
      }
      const d = decodeBgp4mpMessage(r);
      if (!d.ok || d.message.type !== MSG.UPDATE || d.message.treatAsWithdraw) {
        undecodable++;
        continue;
      }
      const i = [...peers.keys()].indexOf(addr);
      const out = rewriteUpdate(d.message, p.family, i, r.as4);
      dropped += out.dropped;
      if (!out.msg) {
        skippedOther++;
        continue;
      }
      p.w.bytes(encodeMessage(out.msg, AS4_CONTEXT));
      p.messages++;
      p.prefixes += out.prefixes;
    }
  }
  const streams = [...peers.values()].map((p, i): InjectorStream => {
    // The sentinel: the last thing on every session.
    const attrs = encodeAttributes(
      { origin: 0, asPath: [p.asn] },
      p.family === 'ipv4' ? v4Bytes(ADDR.inj4(i)) : undefined,
    );
    appendUpdates(
      p.w,
      attrs,
      [sentinelNlri(p.family, i)],
      p.family === 'ipv6' ? v6Bytes(ADDR.inj6(i)) : undefined,
    );
    return {
      family: p.family,
      asn: p.asn,
      bytes: p.w.result(),
      messages: p.messages + 1,
      prefixes: p.prefixes,
      origin: p.origin,
    };
  });
  return {
    id: 'W3',
    title: `RIS trace ${label}, ${streams.length} sessions (one per RIS peer)`,
    streams,
    sentinels: streams.length,
    notes: [
      `${streams.reduce((s, x) => s + x.messages - 1, 0)} UPDATEs, ${streams.reduce((s, x) => s + x.prefixes, 0)} announced prefixes replayed`,
      `${dropped} prefixes of the other family than the session's transport dropped (IPv6 over IPv4 sessions), ` +
        `${skippedOther} UPDATEs left empty by that skipped`,
      `${undecodable} undecodable or treat-as-withdraw UPDATEs skipped`,
    ],
  };
}

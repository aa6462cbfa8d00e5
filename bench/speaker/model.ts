// The shape of a real routing table, measured from MRT files, that the synthetic workloads
// (W1, W2, W4) copy: prefix-length distribution, and per attribute set (the distinct path
// attributes one peer sent) how many prefixes share it, its AS-path length, ORIGIN, and
// whether it carries MED and how many communities. Sampling whole attribute sets keeps
// these correlated as in the source.

import { formatAddr } from '../../src/lib/ip.js';
import { readMrtBatches } from '../../src/mrt/reader.js';
import { decodeBgp4mpMessage, decodeRibAttributes } from '../../src/mrt/records.js';
import { asPathLength, effectiveAsPath, type PathAttribute } from '../../src/wire/index.js';

export interface SetShape {
  /** Prefixes sharing this attribute set. */
  size: number;
  pathLength: number;
  origin: number;
  med: boolean;
  communities: number;
}

export interface TableModel {
  source: string;
  /** The peer whose table was measured (the one with the most prefixes). */
  peer: string;
  prefixes: number;
  /** lengths[l] = number of prefixes of length l. */
  lengths: number[];
  sets: SetShape[];
}

function shapeOf(attrs: readonly PathAttribute[], as4: boolean): Omit<SetShape, 'size'> {
  let origin = 0;
  let med = false;
  let communities = 0;
  for (const a of attrs) {
    if (a.kind === 'origin') origin = a.origin;
    else if (a.kind === 'med') med = true;
    else if (a.kind === 'communities') communities = a.communities.length;
  }
  return { pathLength: asPathLength(effectiveAsPath(attrs, as4).asPath), origin, med, communities };
}

/** Key of an attribute set: its octets without NEXT_HOP (one peer, one next hop anyway). */
function setKey(attrs: Uint8Array): string {
  return Buffer.from(attrs).toString('latin1');
}

/**
 * IPv4 model from a table dump (TABLE_DUMP or TABLE_DUMP_V2): the entries of the peer
 * with the most prefixes.
 */
export async function modelFromRibDump(path: string, label: string): Promise<TableModel> {
  // peer → attribute-set key → { count, attrs }; peer → length histogram.
  const peers = new Map<string, { n: number; lengths: number[]; sets: Map<string, SetShape> }>();
  const peerOf = (p: string): { n: number; lengths: number[]; sets: Map<string, SetShape> } => {
    let v = peers.get(p);
    if (!v) peers.set(p, (v = { n: 0, lengths: new Array<number>(33).fill(0), sets: new Map() }));
    return v;
  };
  const add = (peer: string, len: number, attrs: Uint8Array, as4: boolean): void => {
    const p = peerOf(peer);
    p.n++;
    p.lengths[len] = (p.lengths[len] ?? 0) + 1;
    const key = setKey(attrs);
    const s = p.sets.get(key);
    if (s) s.size++;
    else p.sets.set(key, { size: 1, ...shapeOf(decodeRibAttributes(attrs, as4).attributes, as4) });
  };
  let peerIndex: string[] = [];
  for await (const batch of readMrtBatches(path)) {
    for (const r of batch) {
      if (r.kind === 'table-dump' && r.prefix.afi === 1) {
        add(formatAddr(r.peerAddress), r.prefix.len, r.attributes, r.as4);
      } else if (r.kind === 'peer-index-table') {
        peerIndex = r.peers.map((p) => formatAddr(p.address));
      } else if (r.kind === 'rib' && r.afi === 1 && r.safi === 1) {
        for (const e of r.entries)
          add(peerIndex[e.peerIndex] ?? '?', r.prefix.len, e.attributes, true);
      }
    }
  }
  const [peer, best] = [...peers.entries()].sort((a, b) => b[1].n - a[1].n)[0] ?? [];
  if (!peer || !best) throw new Error(`${path}: no IPv4 RIB entries`);
  return {
    source: label,
    peer,
    prefixes: best.n,
    lengths: best.lengths,
    sets: [...best.sets.values()],
  };
}

/** IPv6 prefix-length histogram of the distinct prefixes announced in an update trace. */
export async function ipv6LengthsFromUpdates(
  path: string,
): Promise<{ lengths: number[]; prefixes: number }> {
  const seen = new Set<string>();
  const lengths = new Array<number>(129).fill(0);
  for await (const batch of readMrtBatches(path)) {
    for (const r of batch) {
      if (r.kind !== 'message' || r.local || r.message[18] !== 2) continue;
      const d = decodeBgp4mpMessage(r);
      if (!d.ok || d.message.type !== 2) continue;
      for (const a of d.message.attributes) {
        if (a.kind !== 'mp-reach' || a.afi !== 2) continue;
        for (const n of a.nlri ?? []) {
          const key = `${Buffer.from(n.prefix.addr).toString('hex')}/${n.prefix.len}`;
          if (seen.has(key)) continue;
          seen.add(key);
          lengths[n.prefix.len] = (lengths[n.prefix.len] ?? 0) + 1;
        }
      }
    }
  }
  return { lengths, prefixes: seen.size };
}

/** Summary figures of a model, for the report. */
export function describeModel(m: TableModel): Record<string, number | string> {
  const total = m.sets.reduce((s, x) => s + x.size, 0);
  const sizes = m.sets.map((s) => s.size).sort((a, b) => a - b);
  const lens = m.sets.map((s) => s.pathLength);
  const share = (len: number): number => (m.lengths[len] ?? 0) / m.prefixes;
  return {
    source: m.source,
    peer: m.peer,
    prefixes: m.prefixes,
    attributeSets: m.sets.length,
    prefixesPerSet: +(total / m.sets.length).toFixed(2),
    largestSet: sizes[sizes.length - 1] ?? 0,
    setsOfOnePrefix: +(sizes.filter((s) => s === 1).length / sizes.length).toFixed(3),
    meanAsPathLength: +(lens.reduce((a, b) => a + b, 0) / lens.length).toFixed(2),
    share24: +share(24).toFixed(3),
    share16to23: +m.lengths
      .slice(16, 24)
      .reduce((a, b) => a + b / m.prefixes, 0)
      .toFixed(3),
    shareBelow16: +m.lengths
      .slice(0, 16)
      .reduce((a, b) => a + b / m.prefixes, 0)
      .toFixed(3),
    setsWithMed: +(m.sets.filter((s) => s.med).length / m.sets.length).toFixed(3),
    setsWithCommunities: +(m.sets.filter((s) => s.communities > 0).length / m.sets.length).toFixed(
      3,
    ),
  };
}

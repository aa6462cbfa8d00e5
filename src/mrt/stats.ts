// `nonstop mrt stats`: what an MRT file holds — records per type/subtype, peers, prefix
// events per family, time range and errors. BGP messages are decoded with wire/.

import { formatAddr } from '../lib/ip.js';
import { mrtSubtypeName, mrtTypeName } from './constants.js';
import { readMrtBatches } from './reader.js';
import { decodeBgp4mpMessage, type MrtRecord } from './records.js';

export interface MrtStats {
  file: string;
  records: number;
  /** "TYPE/SUBTYPE" → count. */
  byType: Record<string, number>;
  /** Distinct peers ("address AS asn"), from PEER_INDEX_TABLE and BGP4MP records. */
  peers: string[];
  prefixes: {
    announcedIPv4: number;
    announcedIPv6: number;
    withdrawnIPv4: number;
    withdrawnIPv6: number;
    ribEntriesIPv4: number;
    ribEntriesIPv6: number;
  };
  messages: Record<string, number>;
  stateChanges: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  errors: { offset: number; reason: string }[];
  /** BGP messages wire/ reported errors for (RFC 7606 outcomes, malformed messages). */
  bgpErrors: number;
}

const MSG_NAMES = ['?', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'];

export async function mrtStats(file: string): Promise<MrtStats> {
  const s: MrtStats = {
    file,
    records: 0,
    byType: {},
    peers: [],
    prefixes: {
      announcedIPv4: 0,
      announcedIPv6: 0,
      withdrawnIPv4: 0,
      withdrawnIPv6: 0,
      ribEntriesIPv4: 0,
      ribEntriesIPv6: 0,
    },
    messages: {},
    stateChanges: 0,
    firstTimestamp: null,
    lastTimestamp: null,
    errors: [],
    bgpErrors: 0,
  };
  const peers = new Set<string>();
  const add = (r: MrtRecord): void => {
    if (r.kind === 'error') {
      s.errors.push({ offset: r.offset, reason: r.reason });
      if (r.type < 0) return;
    }
    s.records++;
    const key = `${mrtTypeName(r.type)}/${mrtSubtypeName(r.type, r.subtype)}`;
    s.byType[key] = (s.byType[key] ?? 0) + 1;
    if (r.timestamp) {
      if (s.firstTimestamp === null || r.timestamp < s.firstTimestamp)
        s.firstTimestamp = r.timestamp;
      if (s.lastTimestamp === null || r.timestamp > s.lastTimestamp) s.lastTimestamp = r.timestamp;
    }
    switch (r.kind) {
      case 'peer-index-table':
        for (const p of r.peers) peers.add(`${formatAddr(p.address)} AS${p.asn}`);
        return;
      case 'rib':
        if (r.afi === 1) s.prefixes.ribEntriesIPv4 += r.entries.length;
        else s.prefixes.ribEntriesIPv6 += r.entries.length;
        return;
      case 'table-dump':
        peers.add(`${formatAddr(r.peerAddress)} AS${r.peerAs}`);
        if (r.prefix.afi === 1) s.prefixes.ribEntriesIPv4++;
        else s.prefixes.ribEntriesIPv6++;
        return;
      case 'state-change':
        peers.add(`${formatAddr(r.peerAddress)} AS${r.peerAs}`);
        s.stateChanges++;
        return;
      case 'message': {
        peers.add(`${formatAddr(r.peerAddress)} AS${r.peerAs}`);
        const d = decodeBgp4mpMessage(r);
        if (!d.ok) {
          s.bgpErrors++;
          return;
        }
        const m = d.message;
        const name = MSG_NAMES[m.type] ?? `TYPE ${m.type}`;
        s.messages[name] = (s.messages[name] ?? 0) + 1;
        if (m.type !== 2) return;
        if (m.errors?.length) s.bgpErrors++;
        for (const n of m.withdrawn) {
          if (n.prefix.afi === 1) s.prefixes.withdrawnIPv4++;
          else s.prefixes.withdrawnIPv6++;
        }
        for (const n of m.nlri) {
          if (n.prefix.afi === 1) s.prefixes.announcedIPv4++;
          else s.prefixes.announcedIPv6++;
        }
        for (const a of m.attributes) {
          if (a.kind === 'mp-reach' && a.nlri) {
            if (a.afi === 1) s.prefixes.announcedIPv4 += a.nlri.length;
            else s.prefixes.announcedIPv6 += a.nlri.length;
          } else if (a.kind === 'mp-unreach' && a.withdrawn) {
            if (a.afi === 1) s.prefixes.withdrawnIPv4 += a.withdrawn.length;
            else s.prefixes.withdrawnIPv6 += a.withdrawn.length;
          }
        }
        return;
      }
      default:
        return;
    }
  };
  for await (const batch of readMrtBatches(file)) for (const r of batch) add(r);
  s.peers = [...peers].sort();
  return s;
}

function iso(t: number | null): string {
  return t === null ? '-' : new Date(t * 1000).toISOString().replace('.000Z', 'Z');
}

export function formatStats(s: MrtStats): string {
  const lines: string[] = [];
  lines.push(`file: ${s.file}`);
  lines.push(`records: ${s.records}`);
  for (const [k, v] of Object.entries(s.byType).sort()) lines.push(`  ${k}: ${v}`);
  lines.push(`time range: ${iso(s.firstTimestamp)} .. ${iso(s.lastTimestamp)}`);
  lines.push(`peers: ${s.peers.length}`);
  for (const p of s.peers) lines.push(`  ${p}`);
  if (Object.keys(s.messages).length) {
    lines.push('BGP messages:');
    for (const [k, v] of Object.entries(s.messages).sort()) lines.push(`  ${k}: ${v}`);
  }
  lines.push(`state changes: ${s.stateChanges}`);
  const p = s.prefixes;
  lines.push(`prefixes announced: IPv4 ${p.announcedIPv4}, IPv6 ${p.announcedIPv6}`);
  lines.push(`prefixes withdrawn: IPv4 ${p.withdrawnIPv4}, IPv6 ${p.withdrawnIPv6}`);
  lines.push(`RIB entries: IPv4 ${p.ribEntriesIPv4}, IPv6 ${p.ribEntriesIPv6}`);
  lines.push(`BGP messages with errors: ${s.bgpErrors}`);
  lines.push(`corrupt records: ${s.errors.length}`);
  for (const e of s.errors.slice(0, 20)) lines.push(`  offset ${e.offset}: ${e.reason}`);
  if (s.errors.length > 20) lines.push(`  … ${s.errors.length - 20} more`);
  return lines.join('\n') + '\n';
}

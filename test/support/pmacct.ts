// What the pmacct conformance suite needs beyond the codec: a test-side reader of the
// labelled VPN NLRI our codec keeps opaque (RFC 3107 label stack, RFC 4364 §4.2 route
// distinguisher, RFC 4659 for IPv6), and pmacct's text forms of RDs, extended communities
// and per-prefix records (pmacct's `bgp_daemon_msglog` JSON: one line per prefix).

import { readFileSync } from 'node:fs';
import {
  AFI,
  formatAddr,
  formatIPv4,
  formatPrefix,
  maskAddr,
  parseAddr,
  type Afi,
} from '../../src/lib/ip.js';
import { effectiveAsPath } from '../../src/wire/as-path.js';
import type { Nlri, PathAttribute, UpdateMessage } from '../../src/wire/types.js';

export interface VpnRoute {
  readonly prefix: string;
  readonly rd: string;
  /** First label's 20-bit value. */
  readonly label: number;
  readonly pathId?: number;
}

/** RD text as pmacct prints it: "<type>:<administrator>:<assigned number>". */
export function rdText(b: Uint8Array, off: number): string {
  const type = (b[off]! << 8) | b[off + 1]!;
  const v = new DataView(b.buffer, b.byteOffset + off + 2, 6);
  if (type === 0) return `0:${v.getUint16(0)}:${v.getUint32(2)}`;
  if (type === 1) return `1:${formatIPv4(b, off + 2)}:${v.getUint16(4)}`;
  if (type === 2) return `2:${v.getUint32(0)}:${v.getUint16(4)}`;
  return `${type}:0x${Buffer.from(b.subarray(off + 2, off + 8)).toString('hex')}`;
}

/**
 * Labelled VPN NLRI (SAFI 128): length in bits, labels (3 octets each, until the
 * bottom-of-stack bit; a withdrawal may carry 0x800000 or 0x000000 as its only label),
 * RD (8 octets), prefix. Throws on malformed input (the test then fails loudly).
 */
export function parseVpnNlri(b: Uint8Array, afi: Afi, addPath: boolean): VpnRoute[] {
  const out: VpnRoute[] = [];
  const width = afi === AFI.IPv4 ? 4 : 16;
  let p = 0;
  while (p < b.length) {
    let pathId: number | undefined;
    if (addPath) {
      pathId = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      p += 4;
    }
    let bits = b[p++]!;
    let label = -1;
    for (;;) {
      if (p + 3 > b.length || bits < 24) throw new Error(`VPN NLRI: label stack overruns at ${p}`);
      const l = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      p += 3;
      bits -= 24;
      if (label < 0) label = l >>> 4;
      if (l & 1 || l === 0x800000 || l === 0) break;
    }
    if (bits < 64) throw new Error('VPN NLRI: no room for the route distinguisher');
    const rd = rdText(b, p);
    p += 8;
    bits -= 64;
    if (bits > width * 8) throw new Error(`VPN NLRI: prefix length ${bits}`);
    const n = (bits + 7) >> 3;
    if (p + n > b.length) throw new Error('VPN NLRI: prefix overruns');
    const addr = new Uint8Array(width);
    addr.set(b.subarray(p, p + n));
    p += n;
    const r: VpnRoute = {
      prefix: formatPrefix({ afi, addr: maskAddr(addr, bits), len: bits }),
      rd,
      label,
    };
    out.push(pathId === undefined ? r : { ...r, pathId });
  }
  return out;
}

/**
 * Extended community text as pmacct prints it: route targets and sites of origin by name,
 * anything else as "?" (pmacct inherits Quagga's ecommunity printer).
 */
export function ecommText(e: Uint8Array): string {
  const type = e[0]!;
  const sub = e[1]!;
  const v = new DataView(e.buffer, e.byteOffset, 8);
  const name = sub === 0x02 ? 'RT' : sub === 0x03 ? 'SoO' : undefined;
  if (name && type === 0x00) return `${name}:${v.getUint16(2)}:${v.getUint32(4)}`;
  if (name && type === 0x01) return `${name}:${formatIPv4(e, 2)}:${v.getUint16(6)}`;
  if (name && type === 0x02) return `${name}:${v.getUint32(2)}:${v.getUint16(6)}`;
  return '?';
}

/** pmacct (like Quagga) keeps extended communities sorted by their 8 octets. */
export function ecommsInPmacctOrder(list: readonly Uint8Array[]): string[] {
  return [...list].sort((a, b) => Buffer.compare(a, b)).map(ecommText);
}

/** Next-hop text: the address after an RD for VPN families; the global one of two. */
export function nextHopText(nh: Uint8Array, vpn: boolean): string {
  let a = nh;
  if (vpn && (a.length === 12 || a.length === 24 || a.length === 48))
    a = a.subarray(8, a.length === 48 ? 24 : undefined);
  if (a.length === 32) a = a.subarray(0, 16);
  return formatAddr(a);
}

/** One per-prefix record, in pmacct's field names, with only the fields we compare. */
export interface PrefixRecord {
  log_type: string;
  peer_ip_src: string;
  afi: number;
  safi: number;
  ip_prefix: string | null;
  rd: string | null;
  bgp_nexthop: string | null;
  as_path: string[];
  comms: string[];
  ecomms: string[];
  lcomms: string[];
  origin: string | null;
  local_pref: number | null;
  med: number | null;
  mpls_label: string | null;
}

export const COMPARED_FIELDS: readonly (keyof PrefixRecord)[] = [
  'log_type',
  'peer_ip_src',
  'afi',
  'safi',
  'ip_prefix',
  'rd',
  'bgp_nexthop',
  'as_path',
  'comms',
  'ecomms',
  'lcomms',
  'origin',
  'local_pref',
  'med',
  'mpls_label',
];

function list(x: unknown): string[] {
  if (x === null || x === undefined) return [];
  if (Array.isArray(x)) return x.map(String);
  return String(x)
    .split(' ')
    .filter((s) => s.length > 0);
}

/**
 * pmacct's expected output as records: `event_type: log` lines of log_type update,
 * withdraw or end-of-rib. Lists are arrays in the default scenario and space-separated
 * strings (null when empty) in scenario-01; both become arrays.
 */
export function readExpectedRecords(path: string): PrefixRecord[] {
  const out: PrefixRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const j = JSON.parse(line) as Record<string, unknown>;
    if (j['event_type'] !== 'log') continue;
    out.push({
      log_type: String(j['log_type']),
      peer_ip_src: String(j['peer_ip_src']),
      afi: Number(j['afi']),
      safi: Number(j['safi']),
      ip_prefix: (j['ip_prefix'] as string | null) ?? null,
      rd: (j['rd'] as string | null) ?? null,
      bgp_nexthop: (j['bgp_nexthop'] as string | null) ?? null,
      as_path: list(j['as_path']),
      comms: list(j['comms']),
      ecomms: list(j['ecomms']),
      lcomms: list(j['lcomms']),
      origin: (j['origin'] as string | null) ?? null,
      local_pref: (j['local_pref'] as number | null) ?? null,
      med: (j['med'] as number | null) ?? null,
      mpls_label: (j['mpls_label'] as string | null) ?? null,
    });
  }
  return out;
}

const ORIGIN_LETTER = ['i', 'e', 'u'];

/**
 * Our records for one decoded UPDATE. IPv4/IPv6 unicast NLRI come from our codec; labelled
 * VPN NLRI (kept opaque by the codec) are parsed by parseVpnNlri. Returns also the opaque
 * families we could not turn into records.
 */
export function recordsOfUpdate(
  u: UpdateMessage,
  peer: string,
  as4: boolean,
  addPath: (afi: number, safi: number) => boolean,
): { records: PrefixRecord[]; unparsed: string[] } {
  const records: PrefixRecord[] = [];
  const unparsed: string[] = [];
  const { asPath } = effectiveAsPath(u.attributes, as4);
  const as_path = asPath.flatMap((s) =>
    s.type === 1 ? [`{${s.asns.join(',')}}`] : s.asns.map(String),
  );
  let comms: string[] = [];
  let ecomms: string[] = [];
  let lcomms: string[] = [];
  let origin: string | null = null;
  let local_pref: number | null = null;
  let med: number | null = null;
  let nextHop: string | null = null;
  for (const a of u.attributes as readonly PathAttribute[]) {
    if (a.kind === 'communities') comms = a.communities.map((c) => `${c >>> 16}:${c & 0xffff}`);
    else if (a.kind === 'extended-communities') ecomms = ecommsInPmacctOrder(a.communities);
    else if (a.kind === 'large-communities') lcomms = a.communities.map((c) => c.join(':'));
    else if (a.kind === 'origin') origin = ORIGIN_LETTER[a.origin] ?? String(a.origin);
    else if (a.kind === 'local-pref') local_pref = a.localPref;
    else if (a.kind === 'med') med = a.med;
    else if (a.kind === 'next-hop') nextHop = formatIPv4(a.nextHop);
  }
  const base = { peer_ip_src: peer, as_path, comms, ecomms, lcomms, origin, local_pref, med };
  const unicast = (
    log_type: string,
    afi: number,
    safi: number,
    nh: string | null,
    n: Nlri,
  ): PrefixRecord => ({
    ...base,
    log_type,
    afi,
    safi,
    ip_prefix: formatPrefix(n.prefix),
    rd: null,
    bgp_nexthop: nh,
    mpls_label: null,
  });
  const eor = (afi: number, safi: number): PrefixRecord => ({
    log_type: 'end-of-rib',
    peer_ip_src: peer,
    afi,
    safi,
    ip_prefix: null,
    rd: null,
    bgp_nexthop: null,
    as_path: [],
    comms: [],
    ecomms: [],
    lcomms: [],
    origin: null,
    local_pref: null,
    med: null,
    mpls_label: null,
  });
  if (u.withdrawn.length === 0 && u.attributes.length === 0 && u.nlri.length === 0) {
    records.push(eor(1, 1));
    return { records, unparsed };
  }
  for (const n of u.withdrawn) records.push(unicast('withdraw', 1, 1, null, n));
  for (const n of u.nlri) records.push(unicast('update', 1, 1, nextHop, n));
  for (const a of u.attributes) {
    if (a.kind === 'mp-reach') {
      const vpn = a.safi === 128;
      const nh = a.abbreviated ? null : nextHopText(a.nextHop, vpn);
      if (a.nlri) for (const n of a.nlri) records.push(unicast('update', a.afi, a.safi, nh, n));
      else if (vpn && a.opaque && (a.afi === 1 || a.afi === 2)) {
        for (const r of parseVpnNlri(a.opaque, a.afi, addPath(a.afi, a.safi))) {
          records.push({
            ...base,
            log_type: 'update',
            afi: a.afi,
            safi: a.safi,
            ip_prefix: r.prefix,
            rd: r.rd,
            bgp_nexthop: nh,
            mpls_label: String(r.label),
          });
        }
      } else if (a.opaque) unparsed.push(`reach ${a.afi}/${a.safi}`);
    } else if (a.kind === 'mp-unreach') {
      const empty = (a.withdrawn?.length ?? 0) === 0 && (a.opaque?.length ?? 0) === 0;
      if (empty && u.attributes.length === 1) records.push(eor(a.afi, a.safi));
      else if (a.withdrawn)
        for (const n of a.withdrawn) records.push(unicast('withdraw', a.afi, a.safi, null, n));
      else if (a.safi === 128 && a.opaque && (a.afi === 1 || a.afi === 2)) {
        for (const r of parseVpnNlri(a.opaque, a.afi, addPath(a.afi, a.safi))) {
          records.push({
            ...eor(a.afi, a.safi),
            log_type: 'withdraw',
            ip_prefix: r.prefix,
            rd: r.rd,
            mpls_label: String(r.label),
          });
        }
      } else if (a.opaque) unparsed.push(`unreach ${a.afi}/${a.safi}`);
    }
  }
  return { records, unparsed };
}

/** A stable text of a record for multiset comparison. */
export function recordKey(r: PrefixRecord): string {
  return JSON.stringify(COMPARED_FIELDS.map((f) => r[f]));
}

/** "src_ip → repro_ip" pairs of a traffic-reproducer YAML file (normalised addresses). */
export function reproducerMap(path: string): Map<string, string> {
  const text = readFileSync(path, 'utf8');
  const m = new Map<string, string>();
  const re = /src_ip:\s*(\S+)\s*\n\s*repro_ip:\s*(\S+)/g;
  for (let x = re.exec(text); x; x = re.exec(text)) {
    const src = parseAddr(x[1]!);
    const repro = parseAddr(x[2]!);
    if (src && repro) m.set(formatAddr(src), formatAddr(repro));
  }
  return m;
}

/** The pcap named in a traffic-reproducer YAML file. */
export function reproducerPcap(path: string): string | undefined {
  return /^pcap:\s*(\S+)/m.exec(readFileSync(path, 'utf8'))?.[1];
}

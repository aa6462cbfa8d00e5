// `neighbors`: one BGP session each (RFC 4271 §8 session attributes, RFC 4760 families,
// RFC 7911 ADD-PATH, RFC 8212 default policies, RFC 4456 route-reflector clients).

import { formatAddr } from '../../lib/ip.js';
import { effectiveChain, type CompiledPolicy, type Direction } from '../../policy/index.js';
import { suggestion } from './errors.js';
import type { CompiledPolicies } from './policies.js';
import { items, MapView, scalar, type Reader, type Slot } from './reader.js';
import {
  DEFAULTS,
  family,
  FAMILY_NAMES,
  MAX_PREFIX_ACTIONS,
  type AddPathConfig,
  type Family,
  type MaxPrefixConfig,
  type NeighborConfig,
  type PolicyChain,
} from './schema.js';
import { address, addressOf, asn, bool, holdTime, int, oneOf, text, U16, U32 } from './values.js';

const KEYS = [
  'address',
  'asn',
  'description',
  'local-address',
  'port',
  'passive',
  'hold-time',
  'connect-retry',
  'delay-open',
  'families',
  'add-path',
  'import',
  'export',
  'next-hop-self',
  'soft-reconfiguration-inbound',
  'route-reflector-client',
  'max-prefix',
  'graceful-restart',
  'mrai',
  'inactive',
];

const familyName = oneOf(FAMILY_NAMES, `a family (${FAMILY_NAMES.join(', ')})`);

export function readNeighbors(
  r: Reader,
  root: MapView,
  localAsn: number | undefined,
  policies: CompiledPolicies,
): NeighborConfig[] {
  const s = root.slot('neighbors');
  if (s.value === null) return [];
  const out: NeighborConfig[] = [];
  const seen = new Map<string, Slot>();
  for (const item of items(r, s, 'neighbors ({ address, asn, … })') ?? []) {
    const read = readNeighbor(r, item, localAsn, policies);
    if (!read) continue;
    const { n, at } = read;
    const first = seen.get(n.key);
    if (first) {
      const { line } = r.position(first.at);
      r.error(
        at.at,
        at.path,
        `duplicate neighbor address ${n.key} (already at ${first.path}, line ${line})`,
      );
      continue;
    }
    seen.set(n.key, item);
    out.push(n);
  }
  return out;
}

function readNeighbor(
  r: Reader,
  s: Slot,
  localAsn: number | undefined,
  policies: CompiledPolicies,
): { n: NeighborConfig; at: Slot } | undefined {
  const m = MapView.open(r, s, KEYS, 'a neighbor');
  if (!m) return undefined;
  const addr = m.req('address', 'the IPv4 or IPv6 address of the peer', address);
  const peerAsn = m.req('asn', 'the peer AS number (equal to the local asn for iBGP)', asn);
  const ibgp = peerAsn !== undefined && peerAsn === localAsn;
  const v6 = addr?.length === 16;
  const sameFamily = addressOf(v6 ? 16 : 4, `the neighbor address is ${v6 ? 'IPv6' : 'IPv4'}`);
  const localAddress = m.opt('local-address', sameFamily);
  const families = readFamilies(r, m, addr);
  const addPath = readAddPath(r, m, families);
  const description = m.opt('description', text);
  const maxPrefix = m.opt('max-prefix', readMaxPrefix);
  const rrClient = m.get('route-reflector-client', false, bool);
  if (rrClient && peerAsn !== undefined && !ibgp) {
    const c = m.slot('route-reflector-client');
    r.error(
      c.at,
      c.path,
      'expected false for an eBGP neighbor (route reflection is iBGP only, RFC 4456)',
    );
  }
  const key = addr ? formatAddr(addr) : '';
  const peer = `${ibgp ? 'iBGP' : 'eBGP'} neighbor ${key} (AS ${peerAsn})`;
  const imp = readChain(r, m, 'import', policies, ibgp, peer);
  const exp = readChain(r, m, 'export', policies, ibgp, peer);
  const n: NeighborConfig = {
    key,
    address: addr ?? new Uint8Array(4),
    asn: peerAsn ?? 0,
    ibgp,
    ...(description !== undefined && { description }),
    ...(localAddress && { localAddress }),
    port: m.get('port', DEFAULTS.port, int(1, U16)),
    passive: m.get('passive', false, bool),
    holdTime: m.get('hold-time', DEFAULTS.holdTime, holdTime),
    connectRetry: m.get('connect-retry', DEFAULTS.connectRetry, int(1, U16)),
    delayOpen: m.get('delay-open', DEFAULTS.delayOpen, int(0, U16)),
    families,
    addPath,
    import: imp,
    export: exp,
    nextHopSelf: m.get('next-hop-self', false, bool),
    softReconfigurationInbound: m.get('soft-reconfiguration-inbound', false, bool),
    routeReflectorClient: rrClient,
    ...(maxPrefix && { maxPrefix }),
    gracefulRestart: m.get('graceful-restart', true, bool),
    mrai: m.get('mrai', DEFAULTS.mrai, int(0, U16)),
    inactive: m.get('inactive', false, bool),
  };
  return addr && peerAsn !== undefined ? { n, at: m.slot('address') } : undefined;
}

/** Default: the family of the neighbor's address. */
function readFamilies(r: Reader, m: MapView, addr: Uint8Array | undefined): Family[] {
  const dflt = [family(addr?.length === 16 ? 'ipv6-unicast' : 'ipv4-unicast')];
  const s = m.slot('families');
  if (s.value === null) return dflt;
  const names = uniqueFamilies(r, s);
  return names && names.length > 0 ? names.map(family) : dflt;
}

function uniqueFamilies(r: Reader, s: Slot): (typeof FAMILY_NAMES)[number][] | undefined {
  const slots = items(r, s, `families (${FAMILY_NAMES.join(', ')})`);
  if (!slots) return undefined;
  if (slots.length === 0) return r.expected(s, 'at least one family');
  const out: (typeof FAMILY_NAMES)[number][] = [];
  for (const item of slots) {
    const f = familyName(r, item);
    if (f === undefined) continue;
    if (out.includes(f)) r.error(item.at, item.path, `${f} is listed twice`);
    else out.push(f);
  }
  return out;
}

function readAddPath(r: Reader, m: MapView, families: readonly Family[]): AddPathConfig {
  const none: AddPathConfig = { receive: [], send: [], sendMax: DEFAULTS.sendMax };
  const s = m.slot('add-path');
  if (s.value === null) return none;
  const a = MapView.open(r, s, ['receive', 'send', 'send-max']);
  if (!a) return none;
  const names = families.map((f) => f.name);
  const subset = (key: string): Family[] => {
    const ss = a.slot(key);
    if (ss.value === null) return [];
    const out: Family[] = [];
    for (const item of items(r, ss, 'families') ?? []) {
      const f = familyName(r, item);
      if (f === undefined) continue;
      if (!names.includes(f)) {
        r.expected(item, `one of the neighbor's families (${names.join(', ')})`);
      } else if (!out.some((x) => x.name === f)) out.push(family(f));
    }
    return out;
  };
  return {
    receive: subset('receive'),
    send: subset('send'),
    sendMax: a.get('send-max', DEFAULTS.sendMax, int(1, 255)),
  };
}

const readMaxPrefix = (r: Reader, s: Slot): MaxPrefixConfig | undefined => {
  const m = MapView.open(r, s, ['limit', 'action', 'restart']);
  if (!m) return undefined;
  const limit = m.req('limit', 'the most prefixes accepted, from 1 to 4294967295', int(1, U32));
  const action = m.get('action', DEFAULTS.maxPrefixAction, oneOf(MAX_PREFIX_ACTIONS));
  const restart = m.get('restart', 0, int(0, U16));
  return limit === undefined ? undefined : { limit, action, restart };
};

/** `import` / `export`: a policy name or a list of them, all defined under `policies`. */
function readChain(
  r: Reader,
  m: MapView,
  dir: Direction,
  policies: CompiledPolicies,
  ibgp: boolean,
  peer: string,
): PolicyChain {
  const s = m.slot(dir);
  const names: string[] = [];
  const slots = s.value !== null && scalar(s.value) !== undefined ? [s] : undefined;
  for (const item of slots ?? (s.value === null ? [] : (items(r, s, 'policy names') ?? []))) {
    const name = scalar(item.value);
    if (typeof name === 'string' && policies.names.includes(name)) {
      names.push(name);
      continue;
    }
    const defined =
      policies.names.length === 0 ? 'none are defined' : `defined: ${policies.names.join(', ')}`;
    r.expected(
      item,
      `the name of a policy under policies (${defined})`,
      typeof name === 'string' ? suggestion(name, policies.names) : '',
    );
  }
  if (names.length === 0 && !ibgp) {
    const what =
      dir === 'import' ? 'every route it sends is rejected' : 'no route is advertised to it';
    r.warn(
      s.value === null ? m.node : s.at,
      s.path,
      `no ${dir} policy on ${peer}: ${what} (RFC 8212)`,
    );
  }
  const chain: CompiledPolicy[] = [];
  for (const name of names) {
    const p = policies.policies.get(name);
    if (p) chain.push(p);
  }
  return { names, chain: effectiveChain(chain, dir, !ibgp) };
}

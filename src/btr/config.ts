// The one YAML file of `nonstop btr` (BTR paper §3.1 "common configuration interface";
// ARCHITECTURE.md: one config language, errors naming the file, line and key): the router
// (ASN, router ID, interfaces, neighbours, import/export policy in a subset every
// implementation has) and its replica set, voting and recovery parameters. btr/ translates
// it into each implementation's own config; the hypervisor and the supervisor take their
// settings from it.
//
// Pure: YAML text in, `BtrConfig` or every error found out; reading the file is the CLI's
// job. Built on the speaker's config machinery (src/speaker/config: Reader, MapView, the
// value readers), so errors look the same: `btr.yaml:12:7: replicas[1].implementation: …`.

import { formatAddr, parseAddr, type Prefix } from '../lib/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import { sortErrors, type ConfigError } from '../speaker/config/errors.js';
import {
  MapView,
  Reader,
  items,
  namedEntries,
  openTopLevel,
  scalar,
} from '../speaker/config/reader.js';
import { FAMILY_NAMES, type FamilyName } from '../speaker/config/schema.js';
import {
  address,
  asn,
  bool,
  identifier,
  int,
  loopbackHostPort,
  oneOf,
  prefix,
  text,
  type Read,
} from '../speaker/config/values.js';

export const IMPLEMENTATIONS = ['nonstop', 'bird', 'bird1', 'frr', 'gobgp'] as const;
export type Implementation = (typeof IMPLEMENTATIONS)[number];
export const STRATEGIES = ['continuous-majority', 'wait-for-consensus', 'master-slave'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const BTR_TOP_LEVEL_KEYS = [
  'asn',
  'router-id',
  'interfaces',
  'neighbors',
  'prefix-lists',
  'replicas',
  'voting',
  'recovery',
  'fib',
  'control',
  'log',
] as const;

export const FIB_MODES = ['memory', 'kernel', 'none'] as const;

export const BTR_DEFAULTS = {
  controlSocket: '/run/nonstop/btr.sock',
  steadyMs: 1000,
  faultThreshold: 3,
  windowS: 60,
  backoffInitialMs: 1000,
  backoffMaxMs: 60000,
  startTimeoutS: 120,
  fibMode: 'memory',
  fibTable: 254,
  fibPollMs: 500,
} as const;

export interface InterfaceConfig {
  readonly name: string;
  /** `address/len`, the address with its host bits (an interface address, not a prefix). */
  readonly addresses: readonly { readonly address: string; readonly length: number }[];
}

/** The common policy subset: every implementation can say these. */
export type PolicySpec =
  | { readonly kind: 'accept-all' }
  | { readonly kind: 'reject-all' }
  /** Accept what the prefix list permits, reject the rest. */
  | { readonly kind: 'prefix-list'; readonly name: string };

export interface PrefixListEntry {
  readonly prefix: Prefix;
  readonly ge?: number;
  readonly le?: number;
  readonly action: 'permit' | 'deny';
}

export interface BtrNeighbor {
  /** Name in events, logs and status; default the address. */
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  readonly localAddress?: string;
  readonly passive: boolean;
  readonly families: readonly FamilyName[];
  readonly import: PolicySpec;
  readonly export: PolicySpec;
}

export interface BtrReplica {
  readonly name: string;
  readonly implementation: Implementation;
  readonly standby: boolean;
  /** Update-timing diversity: each neighbour message delayed by a random time in this range. */
  readonly delay?: { readonly minMs: number; readonly maxMs: number };
  /** Connection diversity: its sessions start this long after the neighbour's. */
  readonly startDelayMs?: number;
}

export interface BtrVoting {
  readonly strategy: StrategyName;
  /** wait-for-consensus only: K of R. */
  readonly k?: number;
  readonly steadyMs: number;
  readonly faultThreshold: number;
  readonly windowMs: number;
}

export interface BtrConfig {
  readonly file: string;
  readonly asn: number;
  readonly routerId: string;
  readonly interfaces: readonly InterfaceConfig[];
  readonly neighbors: readonly BtrNeighbor[];
  readonly prefixLists: ReadonlyMap<string, readonly PrefixListEntry[]>;
  readonly replicas: readonly BtrReplica[];
  readonly voting: BtrVoting;
  readonly recovery: {
    readonly backoffInitialMs: number;
    readonly backoffMaxMs: number;
    /** 0: unlimited. */
    readonly maxRestarts: number;
    readonly startTimeoutMs: number;
  };
  /**
   * The FIB voter: where the voted routes go. memory: an in-memory FIB (shown in status);
   * kernel: the router's namespace's routing table `table`; none: no FIB vote.
   */
  readonly fib: {
    readonly mode: (typeof FIB_MODES)[number];
    readonly table: number;
    /** How often the FIB of a replica that cannot push its changes is read (ms). */
    readonly pollMs: number;
  };
  readonly control: { readonly socket: string; readonly http?: string };
  readonly log: {
    readonly level: 'debug' | 'info' | 'warn' | 'error';
    readonly format: 'json' | 'text';
  };
  readonly warnings: readonly ConfigError[];
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const LOG_FORMATS = ['json', 'text'] as const;
const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

const name: Read<string> = (r, s) => {
  const t = text(r, s);
  if (t === undefined) return undefined;
  return NAME_RE.test(t)
    ? t
    : r.expected(s, 'a name of letters, digits, - and _ (starting with a letter, at most 32)');
};

/** `198.18.0.1/24`: an interface address with its prefix length. */
const interfaceAddress: Read<{ address: string; length: number }> = (r, s) => {
  const v = scalar(s.value);
  const m = typeof v === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(v) : null;
  const what = 'an interface address with its length, like 198.18.0.1/24 or 2001:db8::1/64';
  const a = m ? parseAddr(m[1]!) : undefined;
  const len = Number(m?.[2]);
  if (!a || len > a.length * 8) return r.expected(s, what);
  return { address: formatAddr(a), length: len };
};

const addressText: Read<string> = (r, s) => {
  const a = address(r, s);
  return a && formatAddr(a);
};

const familyName = oneOf(FAMILY_NAMES, `a family (${FAMILY_NAMES.join(', ')})`);

export function parseBtrConfig(text: string, file: string): Result<BtrConfig, ConfigError[]> {
  const opened = openTopLevel(
    text,
    file,
    BTR_TOP_LEVEL_KEYS,
    'a mapping with at least asn, router-id, neighbors and replicas',
  );
  if (!opened.ok) return opened;
  const { r, root } = opened.value;

  const localAsn = root.req('asn', 'the router’s AS number, like 65001', asn);
  const rid = root.req(
    'router-id',
    'the BGP Identifier, a dotted quad like 198.18.0.1',
    identifier,
  );
  const interfaces = readInterfaces(r, root);
  const prefixLists = readPrefixLists(r, root);
  const neighbors = readNeighbors(r, root, localAsn, prefixLists, interfaces);
  const replicas = readReplicas(r, root);
  const voting = readVoting(r, root, replicas);
  const recovery = readRecovery(r, root);
  const fib = readFib(r, root);
  const control = readControl(r, root);
  const log = readLog(r, root);
  if (r.errors.length > 0 || localAsn === undefined || rid === undefined || !voting) {
    return err(sortErrors(r.errors));
  }
  return ok({
    file,
    asn: localAsn,
    routerId: formatAddr(rid),
    interfaces,
    neighbors,
    prefixLists,
    replicas,
    voting,
    recovery,
    fib,
    control,
    log,
    warnings: sortErrors(r.warnings),
  });
}

function section(
  r: Reader,
  root: MapView,
  key: string,
  keys: readonly string[],
): MapView | undefined {
  const s = root.slot(key);
  return s.value === null ? undefined : MapView.open(r, s, keys);
}

function readInterfaces(r: Reader, root: MapView): InterfaceConfig[] {
  const s = root.slot('interfaces');
  if (s.value === null) return [];
  const out: InterfaceConfig[] = [];
  for (const item of items(r, s, 'interfaces ({ name, addresses })') ?? []) {
    const m = MapView.open(r, item, ['name', 'addresses']);
    if (!m) continue;
    const n = m.req('name', 'the interface name, like eth0', text);
    const addrs = m.req('addresses', 'a list of addresses like 198.18.0.1/24', (r2, s2) => {
      const list = items(r2, s2, 'addresses like 198.18.0.1/24');
      return list?.flatMap((x) => interfaceAddress(r2, x) ?? []);
    });
    if (n !== undefined && addrs) out.push({ name: n, addresses: addrs });
  }
  return out;
}

function readPrefixLists(r: Reader, root: MapView): Map<string, PrefixListEntry[]> {
  const out = new Map<string, PrefixListEntry[]>();
  const s = root.slot('prefix-lists');
  if (s.value === null) return out;
  for (const [listName, ls] of namedEntries(r, s, 'lists of { prefix, ge?, le?, action? }') ?? []) {
    const entries: PrefixListEntry[] = [];
    for (const item of items(r, ls, 'entries { prefix, ge?, le?, action? }') ?? []) {
      const m = MapView.open(r, item, ['prefix', 'ge', 'le', 'action']);
      if (!m) continue;
      const p = m.req('prefix', 'a prefix like 198.18.0.0/15', prefix);
      if (!p) continue;
      const max = p.addr.length * 8;
      const ge = m.opt(
        'ge',
        int(p.len, max, `an integer from ${p.len} (the prefix length) to ${max}`),
      );
      const le = m.opt(
        'le',
        int(
          ge ?? p.len,
          max,
          `an integer from ${ge ?? p.len} (ge, or the prefix length) to ${max}`,
        ),
      );
      const action = m.get('action', 'permit' as const, oneOf(['permit', 'deny'] as const));
      entries.push({
        prefix: p,
        action,
        ...(ge !== undefined ? { ge } : {}),
        ...(le !== undefined ? { le } : {}),
      });
    }
    out.set(listName, entries);
  }
  return out;
}

function readPolicy(lists: ReadonlyMap<string, unknown>): Read<PolicySpec> {
  const what = `accept-all, reject-all, or { prefix-list: NAME }`;
  return (r, s) => {
    const v = scalar(s.value);
    if (v === 'accept-all' || v === 'reject-all') return { kind: v };
    if (typeof v === 'string' || s.value === null) return r.expected(s, what);
    const m = MapView.open(r, s, ['prefix-list'], what);
    const n = m?.req('prefix-list', 'the name of a list under prefix-lists', text);
    if (n === undefined) return undefined;
    if (!lists.has(n)) {
      const known = [...lists.keys()];
      return r.error(
        m!.slot('prefix-list').at,
        `${s.path}.prefix-list`,
        `no prefix list named ${JSON.stringify(n)}${known.length ? ` (defined: ${known.join(', ')})` : ' (prefix-lists is empty)'}`,
      );
    }
    return { kind: 'prefix-list', name: n };
  };
}

const NEIGHBOR_KEYS = [
  'name',
  'address',
  'asn',
  'local-address',
  'passive',
  'families',
  'import',
  'export',
];

function readNeighbors(
  r: Reader,
  root: MapView,
  localAsn: number | undefined,
  lists: ReadonlyMap<string, unknown>,
  interfaces: readonly InterfaceConfig[],
): BtrNeighbor[] {
  const s = root.slot('neighbors');
  const slots = root.req('neighbors', 'a list of neighbours ({ address, asn, … })', (r2, s2) =>
    items(r2, s2, 'neighbours ({ address, asn, … })'),
  );
  if (!slots) return [];
  if (slots.length === 0) r.error(s.at, 'neighbors', 'expected at least one neighbour');
  const ours = new Set(interfaces.flatMap((i) => i.addresses.map((a) => a.address)));
  const out: BtrNeighbor[] = [];
  const seenAddr = new Map<string, string>();
  const seenName = new Map<string, string>();
  const policy = readPolicy(lists);
  for (const item of slots) {
    const m = MapView.open(r, item, NEIGHBOR_KEYS);
    if (!m) continue;
    const addr = m.req('address', 'the neighbour’s address', addressText);
    const peerAsn = m.req('asn', 'the neighbour’s AS number', asn);
    const local = m.opt('local-address', addressText);
    const passive = m.get('passive', false, bool);
    const families = m.get('families', ['ipv4-unicast'] as FamilyName[], (r2, s2) =>
      items(r2, s2, 'families')?.flatMap((x) => familyName(r2, x) ?? []),
    );
    const ebgp = localAsn !== undefined && peerAsn !== undefined && peerAsn !== localAsn;
    // RFC 8212: no policy on an eBGP session means nothing in, nothing out.
    const dflt: PolicySpec = ebgp ? { kind: 'reject-all' } : { kind: 'accept-all' };
    for (const dir of ['import', 'export'] as const) {
      if (ebgp && !m.has(dir)) {
        r.warn(
          item.at,
          `${item.path}.${dir}`,
          `no ${dir} policy on an eBGP neighbour: RFC 8212 rejects every route (set ${dir}: accept-all to pass them)`,
        );
      }
    }
    const imp = m.get('import', dflt, policy);
    const exp = m.get('export', dflt, policy);
    const nm = m.get('name', addr ?? '', name);
    if (addr === undefined || peerAsn === undefined) continue;
    if (local !== undefined) {
      if (local.includes(':') !== addr.includes(':')) {
        r.error(
          m.slot('local-address').at,
          `${item.path}.local-address`,
          `expected an ${addr.includes(':') ? 'IPv6' : 'IPv4'} address, the family of the neighbour's address`,
        );
        continue;
      }
      if (ours.size > 0 && !ours.has(local)) {
        r.warn(
          m.slot('local-address').at,
          `${item.path}.local-address`,
          `${local} is not an address of any interface under interfaces`,
        );
      }
    }
    const first = seenAddr.get(addr);
    if (first) {
      r.error(
        m.slot('address').at,
        `${item.path}.address`,
        `duplicate neighbour address ${addr} (already at ${first})`,
      );
      continue;
    }
    seenAddr.set(addr, item.path);
    const firstName = seenName.get(nm);
    if (firstName) {
      r.error(
        m.slot('name').at,
        `${item.path}.name`,
        `duplicate neighbour name ${nm} (already at ${firstName})`,
      );
      continue;
    }
    seenName.set(nm, item.path);
    out.push({
      name: nm,
      address: addr,
      asn: peerAsn,
      ...(local !== undefined ? { localAddress: local } : {}),
      passive,
      families,
      import: imp,
      export: exp,
    });
  }
  return out;
}

const REPLICA_KEYS = ['name', 'implementation', 'standby', 'delay', 'start-delay-ms'];

function readReplicas(r: Reader, root: MapView): BtrReplica[] {
  const s = root.slot('replicas');
  const slots = root.req('replicas', 'a list of replicas ({ name, implementation })', (r2, s2) =>
    items(r2, s2, 'replicas ({ name, implementation, standby?, delay?, start-delay-ms? })'),
  );
  if (!slots) return [];
  const out: BtrReplica[] = [];
  const seen = new Map<string, string>();
  for (const item of slots) {
    const m = MapView.open(r, item, REPLICA_KEYS);
    if (!m) continue;
    const nm = m.req('name', 'the replica’s name, like bird-a', name);
    const impl = m.req('implementation', IMPLEMENTATIONS.join(', '), oneOf(IMPLEMENTATIONS));
    const standby = m.get('standby', false, bool);
    const delay = m.opt('delay', (r2, s2) => {
      const d = MapView.open(r2, s2, ['min-ms', 'max-ms']);
      if (!d) return undefined;
      const min = d.req('min-ms', 'milliseconds, like 1', int(0, 60000));
      const max = d.req('max-ms', 'milliseconds, like 10', int(0, 60000));
      if (min === undefined || max === undefined) return undefined;
      if (max < min) {
        return r2.error(
          d.slot('max-ms').at,
          `${s2.path}.max-ms`,
          `expected at least min-ms (${min}), got ${max}`,
        );
      }
      return { minMs: min, maxMs: max };
    });
    const startDelay = m.opt('start-delay-ms', int(0, 3600000));
    if (nm === undefined) continue;
    const first = seen.get(nm);
    if (!first) seen.set(nm, item.path);
    if (impl === undefined) continue;
    if (first) {
      r.error(
        m.slot('name').at,
        `${item.path}.name`,
        `duplicate replica name ${nm} (already at ${first})`,
      );
      continue;
    }
    out.push({
      name: nm,
      implementation: impl,
      standby,
      ...(delay ? { delay } : {}),
      ...(startDelay !== undefined ? { startDelayMs: startDelay } : {}),
    });
  }
  const active = out.filter((x) => !x.standby).length;
  if (slots.length > 0 && out.length === slots.length) {
    if (active === 0)
      r.error(s.at, 'replicas', 'every replica is a standby: at least one must run');
    else if (active > 31)
      r.error(s.at, 'replicas', `${active} running replicas: at most 31 are supported`);
    else if (active % 2 === 0) {
      r.warn(
        s.at,
        'replicas',
        `${active} running replicas: a majority needs ${active / 2 + 1}, so it tolerates no more faulty ones than ${active - 1} would`,
      );
    }
  }
  return out;
}

function readVoting(
  r: Reader,
  root: MapView,
  replicas: readonly BtrReplica[],
): BtrVoting | undefined {
  const dflt: BtrVoting = {
    strategy: 'continuous-majority',
    steadyMs: BTR_DEFAULTS.steadyMs,
    faultThreshold: BTR_DEFAULTS.faultThreshold,
    windowMs: BTR_DEFAULTS.windowS * 1000,
  };
  const m = section(r, root, 'voting', [
    'strategy',
    'k',
    'steady-ms',
    'fault-threshold',
    'window-s',
  ]);
  if (!m) return dflt;
  const strategy = m.get('strategy', dflt.strategy, oneOf(STRATEGIES));
  const R = replicas.filter((x) => !x.standby).length;
  const k = m.opt('k', (r2, s2) => {
    if (strategy !== 'wait-for-consensus') {
      return r2.error(s2.at, s2.path, `k applies to wait-for-consensus only, not ${strategy}`);
    }
    const majority = Math.floor(R / 2) + 1;
    return int(
      majority,
      Math.max(majority, R),
      `an integer from ${majority} (a majority of the ${R} running replicas) to ${R}`,
    )(r2, s2);
  });
  return {
    strategy,
    ...(k !== undefined ? { k } : {}),
    steadyMs: m.get('steady-ms', dflt.steadyMs, int(0, 3600000)),
    faultThreshold: m.get('fault-threshold', dflt.faultThreshold, int(1, 1000000)),
    windowMs: m.get('window-s', BTR_DEFAULTS.windowS, int(1, 86400)) * 1000,
  };
}

function readRecovery(r: Reader, root: MapView): BtrConfig['recovery'] {
  const m = section(r, root, 'recovery', [
    'backoff-initial-ms',
    'backoff-max-ms',
    'max-restarts',
    'start-timeout-s',
  ]);
  const initial =
    m?.get('backoff-initial-ms', BTR_DEFAULTS.backoffInitialMs, int(0, 3600000)) ??
    BTR_DEFAULTS.backoffInitialMs;
  const max =
    m?.get('backoff-max-ms', Math.max(initial, BTR_DEFAULTS.backoffMaxMs), (r2, s2) =>
      int(initial, 86400000, `an integer from ${initial} (backoff-initial-ms) to 86400000`)(r2, s2),
    ) ?? Math.max(initial, BTR_DEFAULTS.backoffMaxMs);
  return {
    backoffInitialMs: initial,
    backoffMaxMs: max,
    maxRestarts: m?.get('max-restarts', 0, int(0, 1000000)) ?? 0,
    startTimeoutMs:
      (m?.get('start-timeout-s', BTR_DEFAULTS.startTimeoutS, int(0, 86400)) ??
        BTR_DEFAULTS.startTimeoutS) * 1000,
  };
}

function readFib(r: Reader, root: MapView): BtrConfig['fib'] {
  const m = section(r, root, 'fib', ['mode', 'table', 'poll-ms']);
  return {
    mode: m?.get('mode', BTR_DEFAULTS.fibMode, oneOf(FIB_MODES)) ?? BTR_DEFAULTS.fibMode,
    table:
      m?.get('table', BTR_DEFAULTS.fibTable, (r2, s2) => {
        const t = int(1, 0xffffffff)(r2, s2);
        return t === 255 ? r2.expected(s2, 'a routing table id other than 255 (local)') : t;
      }) ?? BTR_DEFAULTS.fibTable,
    pollMs: m?.get('poll-ms', BTR_DEFAULTS.fibPollMs, int(50, 3600000)) ?? BTR_DEFAULTS.fibPollMs,
  };
}

function readControl(r: Reader, root: MapView): BtrConfig['control'] {
  const m = section(r, root, 'control', ['socket', 'http']);
  const socket = m?.get('socket', BTR_DEFAULTS.controlSocket, text) ?? BTR_DEFAULTS.controlSocket;
  const http = m?.opt('http', loopbackHostPort);
  return http ? { socket, http } : { socket };
}

function readLog(r: Reader, root: MapView): BtrConfig['log'] {
  const m = section(r, root, 'log', ['level', 'format']);
  return {
    level: m?.get('level', 'info' as const, oneOf(LOG_LEVELS)) ?? 'info',
    format: m?.get('format', 'json' as const, oneOf(LOG_FORMATS)) ?? 'json',
  };
}

// The YAML file of `nonstop tcpr run` (docs/tcpr.md § Running the middlebox): the two TUN
// devices (or the NFQUEUE queues, docs/tcpr-nfqueue.md) and their namespace, the address
// mapping, the side channel (spec §2.5 with decision E15: dedicated address and port), who
// may use it, the optional key file and the control socket.
//
// Pure: YAML text in, `MiddleboxConfig` or every error found out (file:line:column: key:
// message), built on the speaker's config machinery so errors look like every other
// config's. Reading the key file is the CLI's job (the path is checked here).

import { formatAddr } from '../lib/ip.js';
import { LOG_LEVELS, type LogLevel } from '../lib/log.js';
import { err, ok, type Result } from '../lib/result.js';
import { sortErrors, type ConfigError } from '../speaker/config/errors.js';
import { items, listOf, MapView, openTopLevel } from '../speaker/config/reader.js';
import { address, bool, int, oneOf, text, type Read } from '../speaker/config/values.js';
import { DEFAULT_CHANNEL_ADDRESSES, DEFAULT_CHANNEL_PORT } from './pump-filter.js';

export const TCPR_TOP_LEVEL_KEYS = [
  'app-tun',
  'peer-tun',
  'netns',
  'addresses',
  'channel',
  'allow',
  'key-file',
  'control-socket',
  'filter',
  'log',
  'nfqueue',
] as const;

export const TCPR_DEFAULTS = {
  appTun: 'nst-tapp',
  peerTun: 'nst-tpeer',
  controlSocket: '/run/nonstop/tcpr.sock',
  /** NFQUEUE mode: SO_MARK of the injected packets, which the queue rules must skip. */
  nfqueueMark: 0x6e7374,
} as const;

/** NFQUEUE mode (docs/tcpr-nfqueue.md): the queues the rules feed, the injection mark. */
export interface NfqueueConfig {
  appQueue: number;
  peerQueue: number;
  mark: number;
}

export interface MiddleboxConfig {
  file: string;
  appTun: string;
  peerTun: string;
  /** Network namespace of both TUNs, or of the NFQUEUE rules (absent: the current one). */
  netns?: string;
  /** NFQUEUE mode instead of TUN devices (then app-tun and peer-tun are not allowed). */
  nfqueue?: NfqueueConfig;
  addresses: { internal: string; external: string }[];
  channel: { addresses: string[]; port: number };
  /** Absent: the internal addresses. */
  allow?: string[];
  keyFile?: string;
  controlSocket: string;
  filter: { dupAcks?: number; stripSack?: boolean; maxConnections?: number };
  log: { level: LogLevel; format: 'json' | 'text' };
  warnings: ConfigError[];
}

const addr: Read<string> = (r, s) => {
  const a = address(r, s);
  return a && formatAddr(a);
};

/** What the command line adds: `--nfqueue APPQ:PEERQ` (NFQUEUE mode, these queues). */
export interface MiddleboxConfigOverrides {
  nfqueue?: { appQueue: number; peerQueue: number };
}

/** Why NFQUEUE mode cannot map an internal address to another external one. */
export const NFQUEUE_NO_MAPPING =
  'NFQUEUE mode cannot map addresses: the router picks the route by the destination the ' +
  'peer sends to (the external address) before the queue sees the packet, and a rewritten ' +
  'packet is not routed again; give the same address (leave external out) or use TUN mode';

export function parseMiddleboxConfig(
  textIn: string,
  file: string,
  overrides: MiddleboxConfigOverrides = {},
): Result<MiddleboxConfig, ConfigError[]> {
  const opened = openTopLevel(
    textIn,
    file,
    TCPR_TOP_LEVEL_KEYS,
    'a mapping with at least addresses',
  );
  if (!opened.ok) return opened;
  const { r, root } = opened.value;

  const appTun = root.get('app-tun', TCPR_DEFAULTS.appTun, text);
  const peerTun = root.get('peer-tun', TCPR_DEFAULTS.peerTun, text);
  const netns = root.opt('netns', text);
  /** Mappings whose external address differs from the internal one (refused with nfqueue). */
  const mapped: { at: unknown; path: string }[] = [];
  const addresses =
    root.req('addresses', 'a list of { internal, external } addresses', (r2, s2) => {
      const out: { internal: string; external: string }[] = [];
      for (const item of items(r2, s2, '{ internal, external } mappings') ?? []) {
        const m = MapView.open(r2, item, ['internal', 'external']);
        if (!m) continue;
        const internal = m.req('internal', "the application's own address", addr);
        const external = m.get('external', internal, addr);
        if (internal === undefined || external === undefined) continue;
        if (internal.includes(':') !== external.includes(':')) {
          r2.error(item.at, item.path, 'internal and external must both be IPv4 or both IPv6');
          continue;
        }
        if (internal !== external) mapped.push({ at: item.at, path: item.path });
        out.push({ internal, external });
      }
      if (out.length === 0 && r2.errors.length === 0) {
        r2.error(s2.at, s2.path, 'at least one { internal, external } mapping is needed');
      }
      return out;
    }) ?? [];

  const chan = root.slot('channel');
  const cm = chan.value === null ? undefined : MapView.open(r, chan, ['addresses', 'port']);
  const channel = {
    addresses: cm?.get('addresses', [...DEFAULT_CHANNEL_ADDRESSES], listOf('addresses', addr)) ?? [
      ...DEFAULT_CHANNEL_ADDRESSES,
    ],
    port: cm?.get('port', DEFAULT_CHANNEL_PORT, int(1, 0xffff)) ?? DEFAULT_CHANNEL_PORT,
  };
  const allow = root.opt('allow', listOf('source addresses', addr));
  const keyFile = root.opt('key-file', text);
  const controlSocket = root.get('control-socket', TCPR_DEFAULTS.controlSocket, text);

  const fs = root.slot('filter');
  const fm =
    fs.value === null
      ? undefined
      : MapView.open(r, fs, ['dup-acks', 'strip-sack', 'max-connections']);
  const filter: MiddleboxConfig['filter'] = {};
  const dupAcks = fm?.opt('dup-acks', int(0, 16));
  if (dupAcks !== undefined) filter.dupAcks = dupAcks;
  const stripSack = fm?.opt('strip-sack', bool);
  if (stripSack !== undefined) filter.stripSack = stripSack;
  const maxConnections = fm?.opt('max-connections', int(1, 1 << 20));
  if (maxConnections !== undefined) filter.maxConnections = maxConnections;

  const ns = root.slot('nfqueue');
  let nfqueue: NfqueueConfig | undefined;
  const nm =
    ns.value === null ? undefined : MapView.open(r, ns, ['app-queue', 'peer-queue', 'mark']);
  const flag = overrides.nfqueue;
  if (nm || flag) {
    const q = int(0, 0xffff, 'a queue number from 0 to 65535');
    // --nfqueue gives the queues (the file's are still checked); the file may give the mark.
    const fileQueue = (key: string, what: string): number | undefined =>
      flag ? nm?.opt(key, q) : nm?.req(key, what, q);
    const fileApp = fileQueue('app-queue', 'the queue the app side is sent to');
    const filePeer = fileQueue('peer-queue', 'the queue the peer side is sent to');
    const appQueue = flag ? flag.appQueue : fileApp;
    const peerQueue = flag ? flag.peerQueue : filePeer;
    const mark =
      nm?.get(
        'mark',
        TCPR_DEFAULTS.nfqueueMark,
        int(1, 0xffffffff, 'a mark from 1 to 0xffffffff'),
      ) ?? TCPR_DEFAULTS.nfqueueMark;
    if (appQueue !== undefined && peerQueue !== undefined) {
      if (appQueue === peerQueue) {
        r.error(ns.at, ns.path, `app-queue and peer-queue must differ (both ${appQueue})`);
      } else nfqueue = { appQueue, peerQueue, mark };
    }
    const why = flag ? 'with --nfqueue' : 'in NFQUEUE mode (nfqueue is set)';
    for (const k of ['app-tun', 'peer-tun']) {
      if (root.has(k)) {
        const sl = root.slot(k);
        r.error(sl.at, sl.path, `not used ${why}; remove it`);
      }
    }
    for (const m of mapped) {
      r.error(m.at, `${m.path}.external`, `differs from internal, ${why}: ${NFQUEUE_NO_MAPPING}`);
    }
  }

  const ls = root.slot('log');
  const lm = ls.value === null ? undefined : MapView.open(r, ls, ['level', 'format']);
  const log = {
    level: lm?.get('level', 'info' as const, oneOf(LOG_LEVELS)) ?? 'info',
    format: lm?.get('format', 'json' as const, oneOf(['json', 'text'] as const)) ?? 'json',
  };

  if (r.errors.length > 0) return err(sortErrors(r.errors));
  return ok({
    file,
    appTun,
    peerTun,
    ...(netns !== undefined ? { netns } : {}),
    ...(nfqueue !== undefined ? { nfqueue } : {}),
    addresses,
    channel,
    ...(allow !== undefined ? { allow } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    controlSocket,
    filter,
    log,
    warnings: sortErrors(r.warnings),
  });
}

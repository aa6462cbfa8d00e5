// The speaker-wide sections of the config: listen, control, log, decision, fib, mrt,
// graceful-restart (RFC 4724 timers) and route-reflector (RFC 4456 cluster ID).

import { items, MapView, type Reader, type Slot } from './reader.js';
import {
  DEFAULTS,
  FIB_MODES,
  LOG_FORMATS,
  LOG_LEVELS,
  type DecisionConfig,
  type Endpoint,
  type FibConfig,
  type MrtConfig,
  type SpeakerConfig,
} from './schema.js';
import {
  address,
  bool,
  identifier,
  int,
  loopbackHostPort,
  oneOf,
  text,
  U16,
  U32,
} from './values.js';

type Global = Pick<
  SpeakerConfig,
  'listen' | 'control' | 'log' | 'decision' | 'fib' | 'mrt' | 'gracefulRestart'
>;

const port = int(1, U16);

/** Both wildcard addresses on the BGP port. */
export function defaultListen(): Endpoint[] {
  return [
    { address: new Uint8Array(4), port: DEFAULTS.port },
    { address: new Uint8Array(16), port: DEFAULTS.port },
  ];
}

export function readGlobal(r: Reader, root: MapView): Global {
  return {
    listen: root.get('listen', defaultListen(), readListen),
    control: readControl(r, root),
    log: readLog(r, root),
    decision: readDecision(r, root),
    fib: readFib(r, root),
    mrt: readMrt(r, root),
    gracefulRestart: readGracefulRestart(r, root),
  };
}

/** The cluster ID (RFC 4456 §7); `routerId` when not given. */
export function readClusterId(r: Reader, root: MapView, routerId: Uint8Array): Uint8Array {
  const m = section(r, root, 'route-reflector', ['cluster-id']);
  return m?.get('cluster-id', routerId, identifier) ?? routerId;
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

const readListen = (r: Reader, s: Slot): Endpoint[] | undefined => {
  const slots = items(r, s, 'addresses to listen on ({ address, port })');
  if (!slots) return undefined;
  const out: Endpoint[] = [];
  for (const item of slots) {
    const m = MapView.open(r, item, ['address', 'port']);
    const a = m?.req('address', 'an IPv4 or IPv6 address (0.0.0.0 or "::" for any)', address);
    const p = m?.get('port', DEFAULTS.port, port);
    if (a && p !== undefined) out.push({ address: a, port: p });
  }
  return out;
};

function readControl(r: Reader, root: MapView): Global['control'] {
  const m = section(r, root, 'control', ['socket', 'http']);
  const socket = m?.get('socket', DEFAULTS.controlSocket, text) ?? DEFAULTS.controlSocket;
  const http = m?.opt('http', loopbackHostPort);
  return http ? { socket, http } : { socket };
}

function readLog(r: Reader, root: MapView): Global['log'] {
  const m = section(r, root, 'log', ['level', 'format']);
  return {
    level: m?.get('level', DEFAULTS.logLevel, oneOf(LOG_LEVELS)) ?? DEFAULTS.logLevel,
    format: m?.get('format', DEFAULTS.logFormat, oneOf(LOG_FORMATS)) ?? DEFAULTS.logFormat,
  };
}

function readDecision(r: Reader, root: MapView): DecisionConfig {
  const m = section(r, root, 'decision', [
    'deterministic-med',
    'always-compare-med',
    'med-missing-as-worst',
    'ignore-as-path-length',
    'prefer-older',
  ]);
  const flag = (key: string, dflt: boolean): boolean => m?.get(key, dflt, bool) ?? dflt;
  return {
    deterministicMed: flag('deterministic-med', true),
    alwaysCompareMed: flag('always-compare-med', false),
    medMissingAsWorst: flag('med-missing-as-worst', false),
    ignoreAsPathLength: flag('ignore-as-path-length', false),
    preferOlder: flag('prefer-older', false),
  };
}

function readFib(r: Reader, root: MapView): FibConfig {
  const m = section(r, root, 'fib', ['mode', 'table', 'keep-on-exit']);
  return {
    mode: m?.get('mode', DEFAULTS.fibMode, oneOf(FIB_MODES)) ?? DEFAULTS.fibMode,
    table: m?.get('table', DEFAULTS.fibTable, int(1, U32)) ?? DEFAULTS.fibTable,
    keepOnExit: m?.get('keep-on-exit', false, bool) ?? false,
  };
}

function readMrt(r: Reader, root: MapView): MrtConfig {
  const m = section(r, root, 'mrt', ['rib-dump', 'updates']);
  if (!m) return {};
  const file = (key: string, every: string): { path: string; every: number } | undefined => {
    const s = m.slot(key);
    if (s.value === null) return undefined;
    const f = MapView.open(r, s, ['path', every]);
    const path = f?.req('path', 'a file name (strftime escapes like %Y%m%d%H%M allowed)', text);
    const n = f?.get(every, DEFAULTS.mrtInterval, int(1, U32));
    return path !== undefined && n !== undefined ? { path, every: n } : undefined;
  };
  const dump = file('rib-dump', 'interval');
  const updates = file('updates', 'rotate');
  return {
    ...(dump && { ribDump: { path: dump.path, interval: dump.every } }),
    ...(updates && { updates: { path: updates.path, rotate: updates.every } }),
  };
}

function readGracefulRestart(r: Reader, root: MapView): Global['gracefulRestart'] {
  const m = section(r, root, 'graceful-restart', ['restart-time', 'stale-routes-time']);
  return {
    // RFC 4724 §3: the Restart Time field has 12 bits.
    restartTime: m?.get('restart-time', DEFAULTS.restartTime, int(0, 4095)) ?? DEFAULTS.restartTime,
    staleRoutesTime:
      m?.get('stale-routes-time', DEFAULTS.staleRoutesTime, int(1, U16)) ??
      DEFAULTS.staleRoutesTime,
  };
}

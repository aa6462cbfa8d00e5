// `nonstop show …` and `nonstop neighbor …`: the operator's view of a running speaker,
// through its control API (src/control). Human output is aligned tables in the spirit of
// `birdc show protocols` and `vtysh show bgp summary`; --json prints the API's JSON as is.
import type { Command } from './command.js';
import {
  ControlClientError,
  DEFAULT_SOCKET,
  apiErrorMessage,
  controlRequest,
} from '../control/client.js';
import {
  API_PATHS,
  apiPath,
  type ActionResponse,
  type CapabilityInfo,
  type FibResponse,
  type MessageCounters,
  type NeighborDetail,
  type NeighborSummary,
  type NeighborsResponse,
  type RibResponse,
} from '../control/api-types.js';

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}

const processIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

const COMMON_OPTIONS = `options:
  --socket PATH   the speaker's control socket, or http://127.0.0.1:PORT
                  (default: $NONSTOP_SOCKET, else ${DEFAULT_SOCKET})
  --json          print the API's JSON instead of a table
  -h, --help      this help`;

const SHOW_USAGE = `usage: nonstop show <what> [options]

  neighbors                  one line per BGP neighbour: state, uptime, prefix counts
  neighbor ADDRESS           one neighbour in detail: capabilities, counters, last error
  rib [PREFIX] [--family ipv4|ipv6] [--limit N]
                             the Loc-RIB: every path, the best one marked '>' with the
                             decision step that chose it
  fib [--family ipv4|ipv6] [--limit N]
                             the routes the speaker installed

${COMMON_OPTIONS}
`;

const NEIGHBOR_USAGE = `usage: nonstop neighbor ADDRESS <reset|refresh [in|out]> [options]

  reset            close the session with a Cease/Administrative Reset; it reconnects
  refresh [in]     ask the neighbour to resend its routes (ROUTE-REFRESH), re-run import
  refresh out      re-run export policy and resend our routes to the neighbour

${COMMON_OPTIONS}
`;

interface Options {
  socket: string;
  json: boolean;
  help: boolean;
  family?: 'ipv4' | 'ipv6';
  limit?: number;
  positional: string[];
}

function parseOptions(args: readonly string[], allowed: readonly string[]): Options | string {
  const o: Options = {
    socket: process.env['NONSTOP_SOCKET'] || DEFAULT_SOCKET,
    json: false,
    help: false,
    positional: [],
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : args[++i]);
    if (name === '-h' || name === '--help') o.help = true;
    else if (name === '--json') o.json = true;
    else if (name === '--socket') {
      const v = value();
      if (!v) return '--socket needs a path';
      o.socket = v;
    } else if (name === '--family' && allowed.includes('--family')) {
      const v = value();
      if (v !== 'ipv4' && v !== 'ipv6') return `--family takes 'ipv4' or 'ipv6', not '${v ?? ''}'`;
      o.family = v;
    } else if (name === '--limit' && allowed.includes('--limit')) {
      const v = value();
      const n = Number(v);
      if (!v || !Number.isInteger(n) || n <= 0)
        return `--limit takes a positive integer, not '${v ?? ''}'`;
      o.limit = n;
    } else if (a.startsWith('-') && a.length > 1) return `unknown option '${a}'`;
    else o.positional.push(a);
  }
  return o;
}

/** Runs one request; prints the error and returns undefined when it fails. */
async function fetchJson<T>(
  io: CliIo,
  prog: string,
  o: Options,
  method: string,
  path: string,
  body?: unknown,
): Promise<T | undefined> {
  try {
    const r = await controlRequest(o.socket, method, path, body);
    if (r.status >= 200 && r.status < 300 && r.json !== undefined) return r.json as T;
    io.err(`${prog}: ${apiErrorMessage(r)}\n`);
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    io.err(`${prog}: ${e.message}\n`);
  }
  return undefined;
}

export async function runShow(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const [what, ...rest] = args;
  const prog = `nonstop show${what && !what.startsWith('-') ? ` ${what}` : ''}`;
  const o = parseOptions(rest, what === 'rib' || what === 'fib' ? ['--family', '--limit'] : []);
  if (what === undefined || what === '-h' || what === '--help' || what === 'help') {
    (what === undefined ? io.err : io.out)(SHOW_USAGE);
    return what === undefined ? 2 : 0;
  }
  if (typeof o === 'string') {
    io.err(`${prog}: ${o}\n\n${SHOW_USAGE}`);
    return 2;
  }
  if (o.help) {
    io.out(SHOW_USAGE);
    return 0;
  }
  const usageError = (msg: string): number => {
    io.err(`${prog}: ${msg}\n\n${SHOW_USAGE}`);
    return 2;
  };
  const print = (json: unknown, human: () => string): number => {
    io.out(o.json ? JSON.stringify(json, null, 2) + '\n' : human());
    return 0;
  };
  const query = (q: Record<string, string | number | undefined>): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
    const s = p.toString();
    return s === '' ? '' : `?${s}`;
  };

  switch (what) {
    case 'neighbors':
    case 'neighbours': {
      if (o.positional.length > 0) return usageError(`unexpected argument '${o.positional[0]}'`);
      const r = await fetchJson<NeighborsResponse>(io, prog, o, 'GET', API_PATHS.neighbors);
      return r === undefined ? 1 : print(r, () => formatNeighbors(r));
    }
    case 'neighbor':
    case 'neighbour': {
      const [addr, extra] = o.positional;
      if (addr === undefined) return usageError('which neighbor? give its address');
      if (extra !== undefined) return usageError(`unexpected argument '${extra}'`);
      const path = apiPath(API_PATHS.neighbor, { address: addr });
      const r = await fetchJson<NeighborDetail>(io, prog, o, 'GET', path);
      return r === undefined ? 1 : print(r, () => formatNeighborDetail(r));
    }
    case 'rib':
    case 'route':
    case 'routes': {
      const [prefix, extra] = o.positional;
      if (extra !== undefined) return usageError(`unexpected argument '${extra}'`);
      const path = API_PATHS.rib + query({ prefix, family: o.family, limit: o.limit });
      const r = await fetchJson<RibResponse>(io, prog, o, 'GET', path);
      return r === undefined ? 1 : print(r, () => formatRib(r));
    }
    case 'fib': {
      if (o.positional.length > 0) return usageError(`unexpected argument '${o.positional[0]}'`);
      const path = API_PATHS.fib + query({ family: o.family, limit: o.limit });
      const r = await fetchJson<FibResponse>(io, prog, o, 'GET', path);
      return r === undefined ? 1 : print(r, () => formatFib(r));
    }
    default:
      return usageError(`unknown object '${what}'`);
  }
}

export async function runNeighbor(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const prog = 'nonstop neighbor';
  const o = parseOptions(args, []);
  if (typeof o === 'string') {
    io.err(`${prog}: ${o}\n\n${NEIGHBOR_USAGE}`);
    return 2;
  }
  if (o.help) {
    io.out(NEIGHBOR_USAGE);
    return 0;
  }
  const [addr, action, direction, extra] = o.positional;
  const usageError = (msg: string): number => {
    io.err(`${prog}: ${msg}\n\n${NEIGHBOR_USAGE}`);
    return 2;
  };
  if (addr === undefined) return usageError('which neighbor? give its address');
  if (action !== 'reset' && action !== 'refresh') {
    return usageError(action === undefined ? 'reset or refresh?' : `unknown action '${action}'`);
  }
  if (action === 'reset' && direction !== undefined)
    return usageError(`unexpected argument '${direction}'`);
  if (direction !== undefined && direction !== 'in' && direction !== 'out') {
    return usageError(`refresh takes 'in' or 'out', not '${direction}'`);
  }
  if (extra !== undefined) return usageError(`unexpected argument '${extra}'`);
  const path = apiPath(action === 'reset' ? API_PATHS.neighborReset : API_PATHS.neighborRefresh, {
    address: addr,
  });
  const body = action === 'refresh' ? { direction: direction ?? 'in' } : undefined;
  const r = await fetchJson<ActionResponse>(io, `${prog} ${addr} ${action}`, o, 'POST', path, body);
  if (r === undefined) return 1;
  io.out(o.json ? JSON.stringify(r, null, 2) + '\n' : `${clean(r.message)}\n`);
  return r.ok ? 0 : 1;
}

export const showCommand: Command = {
  name: 'show',
  summary: "show a running speaker's neighbors, RIB and FIB",
  run: (args) => runShow(args),
};

export const neighborCommand: Command = {
  name: 'neighbor',
  summary: 'reset or refresh a BGP session of a running speaker',
  run: (args) => runNeighbor(args),
};

// --- rendering -------------------------------------------------------------------------

export type Align = 'l' | 'r';

/** Columns separated by two spaces, padded to the widest cell; no trailing blanks. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    widths
      .map((w, c) => {
        const cell = r[c] ?? '';
        return align[c] === 'r' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return all.map(line).join('\n') + '\n';
}

/** Uptime like the routing daemons print it: 00:05:12, 3d04h12m, 2w1d03h. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.floor(seconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d === 0) return `${two(h)}:${two(m)}:${two(s % 60)}`;
  if (d < 7) return `${d}d${two(h)}h${two(m)}m`;
  return `${Math.floor(d / 7)}w${d % 7}d${two(h)}h`;
}

/** Control characters from the API (descriptions come from config files) stay off the terminal. */
function clean(s: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (s ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function stateText(n: NeighborSummary): string {
  return n.adminState === 'enabled' ? n.state : `${n.state} (${n.adminState})`;
}

export function formatNeighbors(r: NeighborsResponse): string {
  const up = r.neighbors.filter((n) => n.state === 'Established').length;
  const head =
    `BGP router identifier ${clean(r.routerId)}, local AS ${r.asn}, ` +
    `${r.neighbors.length} neighbor${r.neighbors.length === 1 ? '' : 's'} (${up} established)\n`;
  if (r.neighbors.length === 0) return head;
  const rows = r.neighbors.map((n) => [
    clean(n.address),
    String(n.asn),
    stateText(n),
    formatDuration(n.uptimeSeconds),
    String(n.prefixes.received),
    String(n.prefixes.accepted),
    String(n.prefixes.sent),
    clean(n.description),
  ]);
  return (
    head +
    '\n' +
    formatTable(
      ['Neighbor', 'AS', 'State', 'Uptime', 'Received', 'Accepted', 'Sent', 'Description'],
      rows,
      ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'l'],
    )
  );
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

function list(xs: readonly string[] | undefined): string {
  return xs && xs.length > 0 ? xs.map(clean).join(', ') : 'none';
}

export function formatNeighborDetail(n: NeighborDetail): string {
  const L: string[] = [];
  L.push(
    `BGP neighbor ${clean(n.address)}, remote AS ${n.asn}, ${n.type === 'ibgp' ? 'internal' : 'external'} link`,
  );
  if (n.description) L.push(`  Description: ${clean(n.description)}`);
  const up = n.state === 'Established' ? `, up for ${formatDuration(n.uptimeSeconds)}` : '';
  L.push(`  State: ${stateText(n)}${up}, since ${clean(n.since)}`);
  const local = n.localAddress
    ? `${clean(n.localAddress)}${n.localPort ? `:${n.localPort}` : ''}`
    : 'not connected';
  L.push(`  Local address: ${local}${n.remotePort ? `, remote port ${n.remotePort}` : ''}`);
  const c = n.config;
  L.push(
    `  Configured: hold time ${c.holdTime} s, connect retry ${c.connectRetry} s` +
      `${c.passive ? ', passive' : ''}${c.routeReflectorClient ? ', route-reflector client' : ''}` +
      `${c.nextHopSelf ? ', next-hop-self' : ''}`,
  );
  L.push(`  Families: ${list(c.families)}`);
  L.push(`  Policies: import ${list(c.import)}; export ${list(c.export)}`);
  if (c.maxPrefix) L.push(`  Max prefixes: ${c.maxPrefix.limit} (${c.maxPrefix.action})`);
  const g = n.negotiated;
  if (g) {
    L.push(`  Negotiated:`);
    L.push(
      `    Remote router ID ${clean(g.peerRouterId)}, hold time ${g.holdTime} s, keepalive ${g.keepaliveTime} s`,
    );
    const caps = [
      g.as4 && '4-octet AS',
      g.routeRefresh && 'route refresh',
      g.enhancedRouteRefresh && 'enhanced route refresh',
      g.extendedMessage && 'extended message',
      g.gracefulRestart && `graceful restart (${g.gracefulRestart.restartTime} s)`,
    ].filter((x): x is string => typeof x === 'string');
    L.push(`    Capabilities: ${list(caps)}`);
    L.push(`    Families: ${list(g.families)}`);
    if (g.addPath.receive.length + g.addPath.send.length > 0) {
      L.push(`    ADD-PATH: receive ${list(g.addPath.receive)}; send ${list(g.addPath.send)}`);
    }
    const capTable = (who: string, cs: readonly CapabilityInfo[]): void => {
      if (cs.length === 0) return;
      L.push(`    ${who} capabilities:`);
      for (const x of cs)
        L.push(`      ${x.code} ${clean(x.name)}${x.value ? `: ${clean(x.value)}` : ''}`);
    };
    capTable('Sent', g.capabilities.local);
    capTable('Received', g.capabilities.remote);
  } else {
    L.push('  Negotiated: nothing (no OPEN exchanged yet)');
  }
  if (n.families.length > 0) {
    L.push('  Prefixes:');
    L.push(
      indent(
        formatTable(
          ['Family', 'Received', 'Accepted', 'Sent'],
          n.families.map((f) => [
            clean(f.family),
            String(f.received),
            String(f.accepted),
            String(f.sent),
          ]),
          ['l', 'r', 'r', 'r'],
        ).trimEnd(),
      ),
    );
  }
  const k = n.counters;
  const msgRow = (name: string, key: keyof MessageCounters): string[] => [
    name,
    String(k.messagesSent[key]),
    String(k.messagesReceived[key]),
  ];
  L.push('  Messages:');
  L.push(
    indent(
      formatTable(
        ['', 'Sent', 'Received'],
        [
          msgRow('Opens', 'open'),
          msgRow('Updates', 'update'),
          msgRow('Keepalives', 'keepalive'),
          msgRow('Notifications', 'notification'),
          msgRow('Route refreshes', 'routeRefresh'),
          msgRow('Total', 'total'),
          ['Bytes', String(k.bytesSent), String(k.bytesReceived)],
        ],
        ['l', 'r', 'r'],
      ).trimEnd(),
    ),
  );
  L.push(
    `  Established ${k.established} time${k.established === 1 ? '' : 's'}, dropped ${k.dropped} time${k.dropped === 1 ? '' : 's'}`,
  );
  if (n.lastError) {
    const e = n.lastError;
    const code = e.code !== undefined ? ` (code ${e.code}/${e.subcode ?? 0})` : '';
    const dir = e.direction === 'local' ? '' : ` (${e.direction})`;
    L.push(`  Last error: ${clean(e.message)}${code}${dir} at ${clean(e.time)}`);
  }
  return L.join('\n') + '\n';
}

export function formatRib(r: RibResponse): string {
  const paths = r.entries.reduce((n, e) => n + e.paths.length, 0);
  const rows: string[][] = [];
  for (const e of r.entries) {
    e.paths.forEach((p, i) => {
      rows.push([
        `${p.stale ? 'S' : ' '}${p.best ? '>' : ' '}`,
        i === 0 ? clean(e.prefix) : '',
        clean(p.nextHop),
        p.peer ? clean(p.peer) : 'local',
        p.localPref === undefined ? '' : String(p.localPref),
        p.med === undefined ? '' : String(p.med),
        p.asPath === '' ? '-' : clean(p.asPath),
        p.origin,
        p.best ? clean(p.reason) : '',
      ]);
    });
  }
  const summary =
    `${r.total} prefix${r.total === 1 ? '' : 'es'}, ${paths} path${paths === 1 ? '' : 's'}` +
    (r.truncated
      ? ` (showing ${r.entries.length} of ${r.total} prefixes; use --limit or a prefix)`
      : '') +
    '\n';
  if (rows.length === 0) return summary;
  return (
    formatTable(
      ['', 'Prefix', 'Next hop', 'From', 'LocPrf', 'MED', 'AS path', 'Origin', 'Best because'],
      rows,
      ['l', 'l', 'l', 'l', 'r', 'r', 'l', 'l', 'l'],
    ) +
    '\n' +
    "> best path, S stale (graceful restart); 'Best because' is the decision step that chose it\n" +
    summary
  );
}

export function formatFib(r: FibResponse): string {
  const where =
    r.mode === 'kernel'
      ? `kernel table ${r.table ?? '?'}`
      : r.mode === 'memory'
        ? 'in memory'
        : 'disabled (fib.mode: none)';
  const failed = r.entries.filter((e) => !e.installed).length;
  const head =
    `FIB ${where}: ${r.total} route${r.total === 1 ? '' : 's'}` +
    (failed > 0 ? `, ${failed} not installed` : '') +
    (r.truncated ? ` (showing ${r.entries.length})` : '') +
    '\n';
  if (r.entries.length === 0) return head;
  const rows = r.entries.map((e) => [
    clean(e.prefix),
    e.nextHops.length > 0 ? e.nextHops.map(clean).join(', ') : '-',
    clean(e.interface) || '-',
    e.installed ? 'yes' : `no: ${clean(e.error ?? 'unknown error')}`,
  ]);
  return head + '\n' + formatTable(['Prefix', 'Next hop', 'Interface', 'Installed'], rows);
}

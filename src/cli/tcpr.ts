// `nonstop tcpr`: run the TCPR middlebox (TCPR paper §II–III; docs/tcpr.md § Running the
// middlebox) and the tools of spec §2.5 (tcpr-kill, tcpr-done, tcpr-control -s/-r) over its
// Unix control socket.

import { readFileSync, writeFileSync } from 'node:fs';
import { formatAddr, parseAddr, splitHostPort } from '../lib/ip.js';
import { createLogger } from '../lib/log.js';
import { formatConfigError } from '../speaker/config/errors.js';
import {
  savedState,
  savedStateFromJson,
  savedStateToJson,
  type ConnectionSnapshot,
  type ConnRef,
  type ControlMessage,
} from '../tcpr/index.js';
import {
  parseMiddleboxConfig,
  type MiddleboxConfig,
  type MiddleboxConfigOverrides,
} from '../tcpr/middlebox-config.js';
import { MiddleboxClient, startMiddlebox } from '../tcpr/middlebox.js';
import type { TcprPumpOptions } from '../tcpr/pump-filter.js';
import type { Command } from './command.js';

const USAGE = `usage: nonstop tcpr <subcommand> [options]

Run the TCPR middlebox, and query or change its connections.

  run -c FILE [--nfqueue APPQ:PEERQ]
                          run the middlebox from a YAML config (docs/tcpr.md); with
                          --nfqueue on NFQUEUE queues APPQ (app side) and PEERQ (peer
                          side) instead of TUNs (docs/tcpr-nfqueue.md; the config then
                          may not name app-tun/peer-tun nor map addresses)
  list                    every connection TCPR tracks
  query CONN              one connection's state (JSON)
  kill CONN               mark it failed: TCPR resets the app's socket (tcpr-kill)
  done CONN [r|w]         set done_reading (r), done_writing (w), or forget it (none)
  save CONN FILE          write its hard state as JSON (tcpr-control -s)
  restore FILE            re-create a connection from saved state (tcpr-control -r)
  stats                   packet, filter and side-channel counters (JSON)
  proxy --listen A:P --to H:P --state F
                          relay connections of unmodified endpoints through TCPR
                          (nonstop tcpr proxy --help)

Options:
  -s, --socket PATH       control socket (default /run/nonstop/tcpr.sock, or
                          control-socket of the config given with -c)
  -c, --config FILE       the middlebox config
  -h, --help              this text

CONN names a connection by its peer-visible side: EXTADDR:PORT-PEERADDR:PORT, e.g.
198.18.1.2:9999-198.18.2.2:179 or [2001:db8:1::2]:9999-[2001:db8:2::2]:179; the
external address may be left out: 9999-198.18.2.2:179.

Signals (run): SIGTERM or SIGINT stop cleanly (the TUNs stay and drop traffic, or the
NFQUEUE rules drop it with nobody bound to the queues: fail closed); SIGHUP re-reads
allow and key-file from the config. The process exits 1 when the packet pump dies, so a
supervisor restarts it.
`;

function hostPort(s: string): { addr?: Uint8Array; port: number } | undefined {
  const hp = splitHostPort(s);
  if (!hp?.host) return hp;
  const addr = parseAddr(hp.host);
  return addr ? { addr, port: hp.port } : undefined;
}

/** `EXT:PORT-PEER:PORT` (or `PORT-PEER:PORT`) → ConnRef. */
export function parseConn(s: string): ConnRef | undefined {
  // Split at the '-' that starts the peer part (addresses contain no '-').
  const i = s.indexOf('-');
  if (i < 0) return undefined;
  const local = hostPort(s.slice(0, i));
  const peer = hostPort(s.slice(i + 1));
  if (!local || !peer?.addr) return undefined;
  if (local.addr && local.addr.length !== peer.addr.length) return undefined;
  return {
    ...(local.addr ? { externalAddr: local.addr } : {}),
    port: local.port,
    peerAddr: peer.addr,
    peerPort: peer.port,
  };
}

function hp(a: Uint8Array, port: number): string {
  const t = formatAddr(a);
  return a.length === 16 ? `[${t}]:${port}` : `${t}:${port}`;
}

function connName(s: ConnectionSnapshot): string {
  return `${hp(s.externalAddr, s.hard.port)}-${hp(s.peerAddr, s.hard.peerPort)}`;
}

function snapshotJson(s: ConnectionSnapshot): string {
  return JSON.stringify(s, (_k, v: unknown) => (v instanceof Uint8Array ? formatAddr(v) : v), 2);
}

function readConfig(
  file: string,
  overrides: MiddleboxConfigOverrides = {},
): MiddleboxConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`${file}: cannot read the config: ${(e as Error).message}\n`);
    return undefined;
  }
  const r = parseMiddleboxConfig(text, file, overrides);
  if (!r.ok) {
    for (const e of r.error) process.stderr.write(formatConfigError(e) + '\n');
    return undefined;
  }
  for (const w of r.value.warnings) process.stderr.write(formatConfigError(w, 'warning') + '\n');
  return r.value;
}

function readKey(cfg: MiddleboxConfig): string | undefined {
  if (!cfg.keyFile) return undefined;
  const hex = readFileSync(cfg.keyFile, 'utf8').trim();
  if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(hex)) {
    throw new Error(
      `${cfg.keyFile}: key-file must hold at least 16 bytes as hex (e.g. openssl rand -hex 32)`,
    );
  }
  return hex;
}

function pumpOptions(cfg: MiddleboxConfig): TcprPumpOptions {
  const key = readKey(cfg);
  return {
    addresses: cfg.addresses,
    channel: cfg.channel,
    ...(cfg.allow ? { allow: cfg.allow } : {}),
    ...(key ? { key } : {}),
    filter: cfg.filter,
  };
}

/** `--nfqueue APPQ:PEERQ` → the two queue numbers, or an error message. */
export function parseNfqueueFlag(
  v: string | undefined,
): { appQueue: number; peerQueue: number } | string {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(v ?? '');
  const appQueue = Number(m?.[1]);
  const peerQueue = Number(m?.[2]);
  if (!m || appQueue > 0xffff || peerQueue > 0xffff) {
    return (
      `--nfqueue ${v ?? ''}: expected APPQ:PEERQ, two queue numbers from 0 to 65535 ` +
      '(e.g. 101:102)'
    );
  }
  if (appQueue === peerQueue) return `--nfqueue ${v}: the two queues must differ`;
  return { appQueue, peerQueue };
}

async function run(file: string, nfqueueFlag?: string): Promise<number> {
  const overrides: MiddleboxConfigOverrides = {};
  if (nfqueueFlag !== undefined) {
    const q = parseNfqueueFlag(nfqueueFlag);
    if (typeof q === 'string') {
      process.stderr.write(`nonstop tcpr run: ${q}\n`);
      return 2;
    }
    overrides.nfqueue = q;
  }
  // --nfqueue goes through the parser: the file's app-tun/peer-tun and address mappings
  // are then refused with their file:line like any config error.
  const cfg = readConfig(file, overrides);
  if (!cfg) return 2;
  const log = createLogger({
    level: cfg.log.level,
    format: cfg.log.format,
    sink: (l) => process.stderr.write(l + '\n'),
    fields: { component: 'tcpr' },
  });
  let options: TcprPumpOptions;
  try {
    options = pumpOptions(cfg);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const netns = cfg.netns;
  const mb = await startMiddlebox({
    ...(cfg.nfqueue
      ? { nfqueue: { ...cfg.nfqueue, ...(netns ? { netns } : {}) } }
      : {
          appTun: { name: cfg.appTun, ...(netns ? { netns } : {}) },
          peerTun: { name: cfg.peerTun, ...(netns ? { netns } : {}) },
        }),
    options,
    controlSocket: cfg.controlSocket,
    log,
  });
  return new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      log.info('stopping', { signal: sig });
      void mb.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      // Only allow and the key are reloaded (cheap, no state lost); the new config is
      // checked whole first and refused if anything is wrong.
      const next = readConfig(file, overrides);
      if (!next) {
        log.error('SIGHUP: the config has errors; keeping the running settings', { file });
        return;
      }
      try {
        const key = readKey(next);
        void mb
          .reload({ ...(next.allow ? { allow: next.allow } : {}), ...(key ? { key } : {}) })
          .catch((e: Error) => log.error('SIGHUP: reload refused', { error: e.message }));
      } catch (e) {
        log.error('SIGHUP: reload refused', { error: (e as Error).message });
      }
    });
    mb.once('fatal', () => resolve(1));
  });
}

async function tool(sub: string, args: string[], socket: string): Promise<number> {
  const need = (n: number, what: string): boolean => {
    if (args.length >= n) return true;
    process.stderr.write(`nonstop tcpr ${sub}: expected ${what}\n\n${USAGE}`);
    return false;
  };
  const conn = (): ConnRef | undefined => {
    const c = parseConn(args[0] ?? '');
    if (!c) {
      process.stderr.write(
        `nonstop tcpr ${sub}: "${args[0] ?? ''}" is not a connection; write EXTADDR:PORT-PEERADDR:PORT (e.g. 198.18.1.2:9999-198.18.2.2:179)\n`,
      );
    }
    return c;
  };
  const client = await MiddleboxClient.connect(socket);
  try {
    const check = (m: ControlMessage): boolean => {
      if (m.type === 'error')
        process.stderr.write(`nonstop tcpr ${sub}: ${m.message} (${m.code})\n`);
      else if (m.type === 'unknown')
        process.stderr.write(`nonstop tcpr ${sub}: no such connection\n`);
      else return true;
      return false;
    };
    switch (sub) {
      case 'list': {
        let offset = 0;
        for (;;) {
          const r = await client.control({ type: 'list', offset });
          if (!check(r) || r.type !== 'list-reply') return 1;
          for (const s of r.conns) {
            const flags = [
              s.failed && 'failed',
              s.done && 'done',
              s.hard.doneReading && 'r',
              s.hard.doneWriting && 'w',
            ]
              .filter(Boolean)
              .join(',');
            process.stdout.write(
              `${connName(s)}  internal ${hp(s.internalAddr, s.port)}  ack ${s.hard.ack} peer.ack ${s.peer.ack} delta ${s.delta}${flags ? `  ${flags}` : ''}\n`,
            );
          }
          offset += r.conns.length;
          if (r.conns.length === 0 || offset >= r.total) return 0;
        }
      }
      case 'query':
      case 'save': {
        if (!need(sub === 'save' ? 2 : 1, sub === 'save' ? 'CONN FILE' : 'CONN')) return 2;
        const c = conn();
        if (!c) return 2;
        const r = await client.control({ type: 'query', conn: c });
        if (!check(r) || r.type !== 'state') return 1;
        if (sub === 'query') process.stdout.write(snapshotJson(r.state) + '\n');
        else writeFileSync(args[1]!, savedStateToJson(savedState(r.state)) + '\n', { mode: 0o600 });
        return 0;
      }
      case 'kill':
      case 'done': {
        if (!need(1, 'CONN')) return 2;
        const c = conn();
        if (!c) return 2;
        const which = args[1];
        if (sub === 'done' && which !== undefined && which !== 'r' && which !== 'w') {
          process.stderr.write(`nonstop tcpr done: expected r, w or nothing, not "${which}"\n`);
          return 2;
        }
        const fields =
          sub === 'kill'
            ? { failed: true }
            : which === 'r'
              ? { doneReading: true }
              : which === 'w'
                ? { doneWriting: true }
                : { done: true };
        return check(await client.control({ type: 'update', conn: c, fields })) ? 0 : 1;
      }
      case 'restore': {
        if (!need(1, 'FILE')) return 2;
        const s = savedStateFromJson(readFileSync(args[0]!, 'utf8'));
        if (!s.ok) {
          process.stderr.write(`${args[0]}: ${s.error.message}\n`);
          return 2;
        }
        return check(await client.control({ type: 'restore', state: s.value })) ? 0 : 1;
      }
      case 'stats':
        process.stdout.write(JSON.stringify(await client.admin('stats'), null, 2) + '\n');
        return 0;
      default:
        process.stderr.write(`nonstop tcpr: unknown subcommand '${sub}'\n\n${USAGE}`);
        return 2;
    }
  } finally {
    client.close();
  }
}

export const tcprCommand: Command = {
  name: 'tcpr',
  summary: 'the TCPR middlebox (application-driven TCP recovery) and its tools',
  async run(argv: string[]): Promise<number> {
    if (argv[0] === 'proxy') return (await import('./tcpr-proxy.js')).runProxy(argv.slice(1));
    const rest: string[] = [];
    let config: string | undefined;
    let socket: string | undefined;
    let nfqueue: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-h' || a === '--help') {
        process.stdout.write(USAGE);
        return 0;
      } else if (a === '-c' || a === '--config') config = argv[++i];
      else if (a === '-s' || a === '--socket') socket = argv[++i];
      else if (a === '--nfqueue') nfqueue = argv[++i] ?? '';
      else rest.push(a);
    }
    const [sub, ...args] = rest;
    if (!sub) {
      process.stderr.write(USAGE);
      return 2;
    }
    if (nfqueue !== undefined && sub !== 'run') {
      process.stderr.write(`nonstop tcpr ${sub}: --nfqueue is an option of run only\n`);
      return 2;
    }
    try {
      if (sub === 'run') {
        if (!config) {
          process.stderr.write('nonstop tcpr run: -c FILE is required\n');
          return 2;
        }
        return await run(config, nfqueue);
      }
      if (!socket && config) socket = readConfig(config)?.controlSocket;
      return await tool(sub, args, socket ?? '/run/nonstop/tcpr.sock');
    } catch (e) {
      process.stderr.write(`nonstop tcpr ${sub}: ${(e as Error).message}\n`);
      return 1;
    }
  },
};

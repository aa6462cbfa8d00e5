// `nonstop speaker -c FILE`: runs the BGP daemon in the foreground. Composition root: reads
// and validates the config, opens the FIB (kernel via rtnetlink, in memory, or none), the
// control API and the MRT files, wires them to a Speaker over kernel TCP, and handles
// signals — SIGHUP reloads the config as a transaction (an invalid new config is refused
// and the running one kept), SIGTERM/SIGINT shut down cleanly (Cease to every peer, FIB
// routes removed unless fib.keep-on-exit).

import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/log.js';
import { TcpConnector } from '../net/tcp.js';
import { KernelNextHops, MemoryFib, NetlinkFib, NullFib, type Fib } from '../fib/index.js';
import { Registry } from '../control/metrics.js';
import { ControlServer } from '../control/server.js';
import {
  loadSpeakerConfig,
  formatConfigError,
  type SpeakerConfig,
} from '../speaker/config/index.js';
import { Speaker } from '../speaker/speaker.js';
import { MrtRecorder } from '../speaker/mrt-recorder.js';
import { formatAddr } from '../lib/ip.js';
import { TcprChannel } from '../tcpr/client.js';
import { DEFAULT_COMPACT_THRESHOLD, TcprBgpSessions } from '../tcpr/bgp-sessions.js';
import type { Command } from './command.js';

/** Shortest interval between two readings of the kernel routes that resolve next hops. */
const NEXT_HOP_REFRESH_MS = 5000;

const USAGE = `usage: nonstop speaker -c FILE [--check] [--tcpr-state DIR [TCPR options]]

Runs the nonstop BGP-4 speaker in the foreground (logs on stderr).

  -c, --config FILE       the YAML configuration (see docs/speaker.md)
  --check                 validate the configuration, print warnings, and exit
  --tcpr-state DIR        non-stop BGP: protect every session through the TCPR middlebox
                          (opened by either side) and keep its logs in DIR; after kill -9
                          and a restart with the same DIR the sessions carry on
                          (docs/tcpr.md)
  --tcpr-channel ADDR     TCPR's side-channel address (default 198.18.0.1)
  --tcpr-port N           its UDP port (default 7780)
  --tcpr-key-file FILE    shared key (hex) authenticating the side channel
  --tcpr-compact-threshold SIZE
                          compact a session's in.log (and trim its out.log) once this
                          much was logged since the last time: octets, or with a k/M/G
                          suffix (default 32M; 0: never)
  -h, --help              this help

Signals: SIGHUP reloads the configuration; SIGTERM or SIGINT shut down cleanly (Cease to
every peer); SIGUSR2 shuts down for a graceful restart (RFC 4724: no NOTIFICATION, kernel
routes kept, so peers keep forwarding to us until we are back).
Control: nonstop show neighbors | show rib | show fib (see docs/control.md).
`;

/** strftime-like %Y %m %d %H %M %S in UTC, for MRT file names. */
export function expandTime(pattern: string, seconds: number): string {
  const d = new Date(seconds * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return pattern.replace(/%([YmdHMS%])/g, (_m, c: string) => {
    switch (c) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'm':
        return p2(d.getUTCMonth() + 1);
      case 'd':
        return p2(d.getUTCDate());
      case 'H':
        return p2(d.getUTCHours());
      case 'M':
        return p2(d.getUTCMinutes());
      case 'S':
        return p2(d.getUTCSeconds());
      default:
        return '%';
    }
  });
}

/** "65536", "64k", "32M", "1G" (binary multiples) → octets; null when not a size. */
export function parseSize(text: string): number | null {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text.trim());
  if (!m) return null;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

async function openFib(cfg: SpeakerConfig, log: Logger): Promise<Fib> {
  if (cfg.fib.mode === 'kernel') {
    const fib = await NetlinkFib.open({ table: cfg.fib.table });
    log.info('kernel FIB opened', { table: cfg.fib.table, protocol: fib.protocol });
    return fib;
  }
  return cfg.fib.mode === 'none' ? new NullFib() : new MemoryFib();
}

function writeFileAppend(path: string, bytes: Uint8Array, log: Logger): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, bytes);
  } catch (e) {
    log.warn('cannot write MRT file', { path, error: String(e) });
  }
}

async function load(path: string): Promise<SpeakerConfig | undefined> {
  const r = await loadSpeakerConfig(path);
  if (!r.ok) {
    for (const e of r.error) process.stderr.write(formatConfigError(e) + '\n');
    return undefined;
  }
  for (const w of r.value.warnings) process.stderr.write(formatConfigError(w, 'warning') + '\n');
  return r.value;
}

export const speakerCommand: Command = {
  name: 'speaker',
  summary: 'run the BGP-4 speaker (daemon) from a YAML config',
  async run(args: string[]): Promise<number> {
    let file: string | undefined;
    let check = false;
    const tcpr: {
      state?: string;
      channel?: string;
      port?: string;
      keyFile?: string;
      compact?: string;
    } = {};
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-h' || a === '--help') {
        process.stdout.write(USAGE);
        return 0;
      } else if (a === '-c' || a === '--config') file = args[++i];
      else if (a === '--check') check = true;
      else if (a === '--tcpr-state') tcpr.state = args[++i];
      else if (a === '--tcpr-channel') tcpr.channel = args[++i];
      else if (a === '--tcpr-port') tcpr.port = args[++i];
      else if (a === '--tcpr-key-file') tcpr.keyFile = args[++i];
      else if (a === '--tcpr-compact-threshold') tcpr.compact = args[++i];
      else {
        process.stderr.write(`nonstop speaker: unknown argument '${a}'\n\n${USAGE}`);
        return 2;
      }
    }
    if (!file) {
      process.stderr.write(
        `nonstop speaker: a configuration file is required (-c FILE)\n\n${USAGE}`,
      );
      return 2;
    }
    const cfg = await load(file);
    if (!cfg) return 1;
    if (check) {
      process.stdout.write(`${file}: configuration is valid (${cfg.neighbors.length} neighbors)\n`);
      return 0;
    }
    const log = createLogger({
      level: cfg.log.level,
      format: cfg.log.format,
      sink: (l) => process.stderr.write(l + '\n'),
    });
    const metrics = new Registry();
    let fib: Fib;
    try {
      fib = await openFib(cfg, log);
    } catch (e) {
      log.error('cannot open the FIB', {
        mode: cfg.fib.mode,
        error: e instanceof Error ? e.message : String(e),
      });
      return 1;
    }
    // Kernel mode: next hops resolve through the kernel's own routes (connected, static,
    // IGP), read before the sessions start and re-read every few seconds.
    const nextHops = fib instanceof NetlinkFib ? new KernelNextHops(fib, cfg.fib.table) : undefined;
    if (nextHops) await nextHops.refresh();
    // Our own routes still in the kernel (left by a crash or a graceful-restart shutdown):
    // we are restarting with forwarding preserved (RFC 4724 §4.1).
    const kept = fib instanceof NetlinkFib ? (await fib.list()).length : 0;
    if (kept > 0)
      log.info('restarting with forwarding state preserved', {
        routes: kept,
        table: cfg.fib.table,
      });
    let sessions: TcprBgpSessions | undefined;
    if (tcpr.state) {
      const port = tcpr.port === undefined ? undefined : Number(tcpr.port);
      if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
        process.stderr.write(`nonstop speaker: --tcpr-port ${tcpr.port}: not a port number\n`);
        return 2;
      }
      const compactThreshold = tcpr.compact === undefined ? undefined : parseSize(tcpr.compact);
      if (compactThreshold === null) {
        process.stderr.write(
          `nonstop speaker: --tcpr-compact-threshold ${tcpr.compact}: not a size (e.g. 32M, 65536)\n`,
        );
        return 2;
      }
      let key: string | undefined;
      try {
        key = tcpr.keyFile ? readFileSync(tcpr.keyFile, 'utf8').trim() : undefined;
      } catch (e) {
        process.stderr.write(`nonstop speaker: --tcpr-key-file: ${String(e)}\n`);
        return 2;
      }
      sessions = new TcprBgpSessions({
        stateDir: tcpr.state,
        channel: new TcprChannel({
          ...(tcpr.channel ? { address: tcpr.channel } : {}),
          ...(port ? { port } : {}),
          ...(key ? { key } : {}),
        }),
        clock: systemClock,
        log,
        metrics,
        ...(compactThreshold !== undefined ? { compactThreshold } : {}),
      });
      log.info('non-stop BGP: sessions protected by TCPR', {
        state: tcpr.state,
        channel: tcpr.channel ?? '198.18.0.1',
        compactThreshold: compactThreshold ?? DEFAULT_COMPACT_THRESHOLD,
      });
    }
    const recorder = new MrtRecorder();
    const wallSeconds = (): number => Date.now() / 1000;
    const updatesPath = (): string | undefined =>
      cfg.mrt.updates
        ? expandTime(
            cfg.mrt.updates.path,
            Math.floor(wallSeconds() / cfg.mrt.updates.rotate) * cfg.mrt.updates.rotate,
          )
        : undefined;
    const session = (n: SpeakerConfig['neighbors'][number]) => ({
      peerAs: n.asn,
      localAs: cfg.asn,
      peerAddress: n.address,
      localAddress: n.localAddress ?? new Uint8Array(n.address.length),
    });
    const speaker = new Speaker(cfg, {
      connector: new TcpConnector(),
      clock: systemClock,
      logger: log,
      fib,
      metrics,
      ...(nextHops ? { nextHops } : {}),
      // Resumed TCPR sessions never send End-of-RIB again: no deferred selection with them.
      restarting: kept > 0 && !sessions,
      ...(sessions ? { sessions } : {}),
      onMessage: cfg.mrt.updates
        ? (n, bytes, local) => recorder.message(session(n), bytes, local)
        : undefined,
      onStateChange: cfg.mrt.updates
        ? (n, from, to) => recorder.stateChange(session(n), from, to)
        : undefined,
    });
    const control = new ControlServer({
      socket: cfg.control.socket,
      http: cfg.control.http as string | undefined,
      logger: log,
      metrics,
    });
    speaker.registerControl(control);
    try {
      await control.listen();
      await speaker.start();
    } catch (e) {
      log.error('startup failed', { error: e instanceof Error ? e.message : String(e) });
      await speaker.stop('startup failed').catch(() => {});
      await control.close().catch(() => {});
      return 1;
    }
    const timers: NodeJS.Timeout[] = [];
    let nextHopTimer: NodeJS.Timeout | undefined;
    if (nextHops) {
      // Re-read the routes that resolve next hops every 5 s, less often when reading them
      // takes long (at most 5 % of the time), and not while our own routes are still being
      // installed (the table is busy and our routes do not resolve next hops anyway).
      const refresh = (): void => {
        const t0 = performance.now();
        const again = (): void => {
          const ms = performance.now() - t0;
          nextHopTimer = setTimeout(refresh, Math.max(NEXT_HOP_REFRESH_MS, 20 * ms));
        };
        if (speaker.fibPending > 0) return again();
        nextHops
          .refresh()
          .then((changed) => {
            if (!changed) return;
            log.info('kernel routes changed: resolving next hops again', {});
            speaker.engine.nextHopsChanged();
          })
          .catch((e: unknown) =>
            log.warn('cannot read the kernel routing table', { error: String(e) }),
          )
          .finally(again);
      };
      nextHopTimer = setTimeout(refresh, NEXT_HOP_REFRESH_MS);
    }
    if (cfg.mrt.updates) {
      timers.push(
        setInterval(() => {
          const bytes = recorder.takeLog();
          const p = updatesPath();
          if (bytes.length && p) writeFileAppend(p, bytes, log);
        }, 1000),
      );
    }
    if (cfg.mrt.ribDump) {
      const rd = cfg.mrt.ribDump;
      timers.push(
        setInterval(() => {
          const path = expandTime(rd.path, Math.floor(wallSeconds()));
          writeFileAppend(path, recorder.ribDump(speaker.engine, cfg.routerId, cfg.asn), log);
          log.info('RIB dump written', { path, prefixes: speaker.engine.locRib.size });
        }, rd.interval * 1000),
      );
    }
    let current = cfg;
    process.on('SIGHUP', () => {
      void (async () => {
        log.info('SIGHUP: reloading the configuration', { file });
        const next = await load(file);
        if (!next) {
          log.error('reload refused: the new configuration is invalid; keeping the running one', {
            file,
          });
          return;
        }
        speaker.reload(next);
        current = next;
      })();
    });
    return await new Promise<number>((resolve) => {
      const shutdown = (sig: string, gracefulRestart = false): void => {
        log.info(`${sig}: shutting down${gracefulRestart ? ' for a graceful restart' : ''}`, {
          routerId: formatAddr(current.routerId),
        });
        for (const t of timers) clearInterval(t);
        clearTimeout(nextHopTimer);
        void (async () => {
          // A planned restart: TCPR keeps the sessions for the next process to resume.
          if (gracefulRestart) sessions?.handOver();
          await speaker.stop(`${sig} received`, { gracefulRestart });
          // The sessions ended with a Cease: nothing to resume.
          if (!gracefulRestart) sessions?.discardAll();
          const rest = recorder.takeLog();
          const p = updatesPath();
          if (rest.length && p) writeFileAppend(p, rest, log);
          await control.close();
          resolve(0);
        })();
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGUSR2', () => shutdown('SIGUSR2', true));
    });
  },
};

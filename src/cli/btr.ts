// `nonstop btr -c FILE [--check]` runs the bug-tolerant router: the hypervisor
// (src/btr/hypervisor.ts: the real sessions, replication, voting), the supervisor
// (src/btr/supervisor.ts: replica processes, faults, restarts, standbys) and the FIB voter
// (src/btr/fib-vote.ts), composed in btr-router.ts, with the control API (/btr/status,
// /metrics). `nonstop btr status` prints a running one's status.
//
// Composition root. Replicas come from a *replica factory* chosen here (btr-replicas.ts).
// When every replica is `nonstop` (and --namespaces is not given), the built-in factory runs
// them in this process, each over its own in-memory network (its "namespace"), with its
// speaker config generated from the btr config. Otherwise the real-daemon factory
// (btr-lab-replicas.ts) runs each replica as an unmodified daemon in a network namespace
// of its own, behind the transparent proxy, set up before the router starts and removed on
// shutdown.

import { readFile } from 'node:fs/promises';
import { createLogger } from '../lib/log.js';
import { ControlServer } from '../control/server.js';
import { ControlClientError, apiErrorMessage, controlRequest } from '../control/client.js';
import { formatConfigError, type ConfigError } from '../speaker/config/index.js';
import { BTR_DEFAULTS, parseBtrConfig, type BtrConfig } from '../btr/config.js';
import type { Command } from './command.js';
import { formatDuration, formatTable, type CliIo } from './show.js';
import { inProcessFactory, type ReplicaFactoryMaker } from './btr-replicas.js';
import { BtrRouter, type BtrStatusResponse } from './btr-router.js';
import {
  labReplicaProblems,
  needsNamespaces,
  policyProblems,
  prepareLabReplicas,
  type LabReplicas,
} from './btr-lab-replicas.js';

export {
  inProcessFactory,
  makeInProcessFactory,
  nonstopReplicaYaml,
  type ReplicaFactory,
  type ReplicaFactoryMaker,
} from './btr-replicas.js';
export { BtrRouter, type BtrStatusResponse } from './btr-router.js';

const USAGE = `usage: nonstop btr -c FILE [--check] [--namespaces]
       nonstop btr status [--socket PATH] [--json]

Runs the bug-tolerant router in the foreground (logs on stderr): one real BGP session per
neighbour, fanned out to R diverse replicas whose outputs are voted on; faulty replicas are
restarted or replaced by standbys (see docs/btr.md).

  -c, --config FILE   the YAML configuration (see docs/btr.md, "Configuration")
  --check             validate the configuration, print warnings, and exit
  --namespaces        run every replica, nonstop ones too, as a daemon in a network
                      namespace of its own (the default when a replica is bird, bird1,
                      frr or gobgp; needs root)
  -h, --help          this help

  status              replicas (state, restarts, faults), neighbours, and the keys the
                      replicas disagree on, from a running instance
  --socket PATH       its control socket, or http://127.0.0.1:PORT
                      (default: $NONSTOP_BTR_SOCKET, else ${BTR_DEFAULTS.controlSocket})
  --json              print the API's JSON

Signals: SIGTERM or SIGINT shut down cleanly (Cease to every neighbour and replica
session, replicas stopped).
Replicas: 'nonstop' replicas run in this process when every replica is nonstop; otherwise
each replica is an unmodified daemon (BIRD 2, BIRD 1.6, FRR, GoBGP, nonstop) in a network
namespace of its own carrying the router's addresses, its sessions transparently proxied
to this process (root, nftables and the daemons' binaries needed; see docs/btr.md).
`;

const processIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

// --- configuration -------------------------------------------------------------------------

export async function loadBtrConfig(
  path: string,
): Promise<{ ok: true; value: BtrConfig } | { ok: false; error: ConfigError[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return {
      ok: false,
      error: [
        { file: path, line: 0, column: 0, key: '', message: `cannot read the file (${why})` },
      ],
    };
  }
  return parseBtrConfig(text, path);
}

// --- status --------------------------------------------------------------------------------

const table = (...a: Parameters<typeof formatTable>): string =>
  formatTable(...a).replace(/\n$/, '');

/** The operator's view: replicas, neighbours, disagreements. */
export function formatBtrStatus(s: BtrStatusResponse): string {
  const ago = (t: number | null): string =>
    t === null ? '-' : `${formatDuration(Math.max(0, Math.round((s.now - t) / 1000)))} ago`;
  const sup = s.supervisor;
  const lines: string[] = [];
  lines.push(
    `BTR router ${s.router.routerId} AS ${s.router.asn}: ${s.router.strategy}, ` +
      `${sup.voting} of ${sup.seats} replicas voting (majority ${sup.quorum}), ` +
      `${sup.restarts} restarts, ${sup.faults} faults`,
    '',
  );
  lines.push(
    table(
      ['Replica', 'Kind', 'Seat', 'State', 'Since', 'Restarts', 'Faults', 'Flagged', 'Last fault'],
      sup.replicas.map((r) => [
        r.name,
        r.kind,
        r.seat ?? '-',
        r.state +
          (r.restartAt !== null ? ` (in ${Math.max(0, Math.round(r.restartAt - s.now))} ms)` : ''),
        ago(r.since),
        String(r.restarts),
        `${r.faults} (${r.score} in window)`,
        String(r.flaggedKeys),
        r.lastFault ? `${ago(r.lastFault.at)}: ${r.lastFault.kind}: ${r.lastFault.reason}` : '-',
      ]),
    ),
  );
  lines.push('');
  lines.push(
    table(
      ['Neighbor', 'State', 'Routes', 'Output', 'Disagreements', 'Replicas voting'],
      s.neighbors.map((n) => [
        n.neighbor,
        n.state,
        String(n.routes),
        String(n.output),
        String(n.disagreements),
        n.replicas
          .filter((r) => r.voting)
          .map((r) => r.replica)
          .join(',') || '-',
      ]),
    ),
  );
  if (s.fib) {
    const f = s.fib;
    lines.push(
      '',
      `FIB (${f.mode}): ${f.installed} voted routes installed, ${f.disagreements} disagreements, ` +
        `${f.decisions} decisions, ${f.faults} faults` +
        (f.applyFailures > 0 ? `, ${f.applyFailures} refused by the FIB` : '') +
        (f.unsupported > 0 ? `, ${f.unsupported} without a gateway (not installed)` : '') +
        `; replica FIBs: ` +
        (f.replicas
          .map(
            (r) =>
              `${r.replica} ${r.routes}${r.voting ? '' : ' (not voting)'}${r.flagged ? ` (${r.flagged} flagged)` : ''}`,
          )
          .join(', ') || '-'),
    );
  }
  if (s.disagreements.length > 0) {
    lines.push('', 'Disagreements (oldest first):');
    for (const d of s.disagreements) {
      lines.push(`  ${d.neighbor} ${d.key}: since ${ago(d.sinceMs)}, output ${d.output}`);
      for (const r of d.replicas) {
        const flags = [r.steady ? 'steady' : 'changing', ...(r.faulty ? ['FLAGGED'] : [])];
        lines.push(`    ${r.replica}: ${r.value} (${flags.join(', ')})`);
      }
    }
  } else lines.push('', 'No disagreements.');
  return lines.join('\n') + '\n';
}

async function runStatus(args: string[], io: CliIo): Promise<number> {
  let socket = process.env['NONSTOP_BTR_SOCKET'] || BTR_DEFAULTS.controlSocket;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h' || a === '--help') {
      io.out(USAGE);
      return 0;
    } else if (a === '--json') json = true;
    else if (a === '--socket' && args[i + 1] !== undefined) socket = args[++i]!;
    else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else {
      io.err(`nonstop btr status: unknown argument '${a}'\n\n${USAGE}`);
      return 2;
    }
  }
  try {
    const r = await controlRequest(socket, 'GET', '/btr/status');
    if (r.status !== 200) {
      io.err(`nonstop btr status: ${apiErrorMessage(r)}\n`);
      return 1;
    }
    io.out(
      json ? JSON.stringify(r.json, null, 2) + '\n' : formatBtrStatus(r.json as BtrStatusResponse),
    );
    return 0;
  } catch (e) {
    if (e instanceof ControlClientError) {
      io.err(`nonstop btr status: ${e.message.replace('nonstop speaker', 'nonstop btr')}\n`);
      return 1;
    }
    throw e;
  }
}

// --- the command -----------------------------------------------------------------------------

export interface BtrRunOptions {
  /** Where replicas come from (default: in-process `nonstop` replicas). */
  readonly replicaFactory?: ReplicaFactoryMaker;
  readonly io?: CliIo;
}

export async function runBtr(args: string[], opts: BtrRunOptions = {}): Promise<number> {
  const io = opts.io ?? processIo;
  if (args[0] === 'status') return runStatus(args.slice(1), io);
  let file: string | undefined;
  let check = false;
  let namespaces = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h' || a === '--help') {
      io.out(USAGE);
      return 0;
    } else if (a === '-c' || a === '--config') file = args[++i];
    else if (a === '--check') check = true;
    else if (a === '--namespaces') namespaces = true;
    else {
      io.err(`nonstop btr: unknown argument '${a}'\n\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    io.err(`nonstop btr: a configuration file is required (-c FILE)\n\n${USAGE}`);
    return 2;
  }
  const loaded = await loadBtrConfig(file);
  if (!loaded.ok) {
    for (const e of loaded.error) io.err(formatConfigError(e) + '\n');
    return 1;
  }
  const cfg = loaded.value;
  for (const w of cfg.warnings) io.err(formatConfigError(w, 'warning') + '\n');
  if (check) {
    const standbys = cfg.replicas.filter((r) => r.standby).length;
    io.out(
      `${file}: configuration is valid (${cfg.neighbors.length} neighbors, ` +
        `${cfg.replicas.length - standbys} replicas + ${standbys} standbys, ${cfg.voting.strategy})\n`,
    );
    return 0;
  }
  if (opts.replicaFactory) return serve(cfg, opts.replicaFactory);
  if (!namespaces && !needsNamespaces(cfg)) return serve(cfg, inProcessFactory);
  // Real daemons in namespaces: say everything that is missing, before touching anything.
  const problems = [...labReplicaProblems(cfg), ...policyProblems(cfg)];
  if (problems.length > 0) {
    const which = cfg.replicas.map((r) => `${r.name} (${r.implementation})`).join(', ');
    io.err(
      `nonstop btr: cannot run the replicas ${which} in network namespaces:\n` +
        problems.map((p) => `  - ${p}\n`).join(''),
    );
    return 1;
  }
  return serve(cfg, 'namespaces');
}

async function serve(cfg: BtrConfig, source: ReplicaFactoryMaker | 'namespaces'): Promise<number> {
  const log = createLogger({
    level: cfg.log.level,
    format: cfg.log.format,
    sink: (l) => process.stderr.write(l + '\n'),
  });
  // Signals from here on: a shutdown asked for during setup happens once setup is done. The
  // handlers stay until the shutdown is over (a lab's last-resort handler re-raises a
  // signal nobody else listens to, which would kill us halfway through the teardown).
  let signalled: string | undefined;
  let onSignal: ((sig: string) => void) | undefined;
  const signal = (sig: string) => (): void => {
    signalled ??= sig;
    onSignal?.(sig);
  };
  const sigterm = signal('SIGTERM');
  const sigint = signal('SIGINT');
  process.on('SIGTERM', sigterm);
  process.on('SIGINT', sigint);
  const unhook = (): void => {
    process.removeListener('SIGTERM', sigterm);
    process.removeListener('SIGINT', sigint);
  };
  let prepared: LabReplicas | undefined;
  let makeFactory: ReplicaFactoryMaker;
  if (source === 'namespaces') {
    try {
      prepared = await prepareLabReplicas(cfg, log);
    } catch (e) {
      log.error('cannot set up the replica namespaces', {
        error: e instanceof Error ? e.message : String(e),
      });
      unhook();
      return 1;
    }
    makeFactory = prepared.maker;
  } else makeFactory = source;
  let router: BtrRouter;
  try {
    router = await BtrRouter.create(cfg, { log, replicaFactory: makeFactory });
  } catch (e) {
    log.error('cannot set up the router', { error: e instanceof Error ? e.message : String(e) });
    await prepared?.close();
    unhook();
    return 1;
  }
  const control = new ControlServer({
    socket: cfg.control.socket,
    ...(cfg.control.http ? { http: cfg.control.http } : {}),
    logger: log,
    metrics: router.metrics,
  });
  control.get('/btr/status', (req) => {
    const limit = Number(req.query.get('limit') ?? 100);
    return router.status(Number.isFinite(limit) ? limit : 100);
  });
  try {
    await control.listen();
    await router.start();
  } catch (e) {
    log.error('startup failed', { error: e instanceof Error ? e.message : String(e) });
    await router.stop('startup failed').catch(() => {});
    await prepared?.close();
    await control.close().catch(() => {});
    unhook();
    return 1;
  }
  log.info('bug-tolerant router running', {
    routerId: cfg.routerId,
    replicas: cfg.replicas.filter((r) => !r.standby).map((r) => r.name),
    standbys: cfg.replicas.filter((r) => r.standby).map((r) => r.name),
    strategy: cfg.voting.strategy,
    fib: cfg.fib.mode,
  });
  return await new Promise<number>((resolve) => {
    const shutdown = (sig: string): void => {
      onSignal = (again) => log.warn(`${again}: already shutting down`, {});
      log.info(`${sig}: shutting down`, {});
      void (async () => {
        let code = 0;
        try {
          await router.stop(`${sig} received`); // Cease to every neighbour and replica session
        } catch (e) {
          log.error('shutdown', { error: e instanceof Error ? e.message : String(e) });
          code = 1;
        }
        // Replicas in namespaces: their namespaces and links go (idempotent after the stop).
        await prepared?.close();
        await control.close();
        unhook();
        resolve(code);
      })();
    };
    if (signalled) shutdown(signalled);
    else onSignal = shutdown;
  });
}

export const btrCommand: Command = {
  name: 'btr',
  summary: 'run the bug-tolerant router (replicas, voting, recovery); btr status',
  run: (args) => runBtr(args),
};

// The hypervisor of a bug-tolerant router of real daemons, as a process of its own run
// inside the router's network namespace (`ip netns exec <ns> node
// dist/src/lab/btr-router-runner.js CONFIG.json`): Node cannot open sockets in another
// namespace. `btrLabRouter` (src/lab/btr-lab.ts) writes the config and starts it for the
// real-daemon tests (test/btr-*.test.ts), the benchmark (bench/btr.ts) and `nonstop demo`
// with real daemons (src/cli/demo-btr-lab.ts); `btrRouterRunner` is its compiled path. Its
// replicas are reached through their proxies (src/btr/transparent-proxy.ts), over kernel
// TCP in this namespace. Every hypervisor event is printed as one JSON line on stdout
// (`{ event, wall }`, wall = Date.now()); SIGTERM stops it (Cease to everyone); SIGUSR2
// prints the status (with `audit`, also each replica's advertisements compared:
// src/lab/btr-audit.ts).
//
// Fault injection (src/btr/fault-inject.ts): a replica with `faults` has its sessions
// wrapped by a FaultInjector; its bug schedule starts on SIGUSR1 (`{ armed, wall }`), so a
// caller arms it once the router has converged. Fault events are printed as
// `{ fault, wall }`. With `logSent`, every UPDATE the router sends to a neighbour is
// printed as `{ sent: neighbour address, hex, wall }`: the complete record of what left the
// router; every other message but KEEPALIVE (OPEN, NOTIFICATION, ROUTE-REFRESH) as
// `{ sentOther: neighbour address, type, wall }`.
//
// FIB (`fib`): the router's FIB vote (src/lab/btr-fib.ts): each replica's kernel table
// (`ns`, `kind`) followed (or polled) and voted — a replica with `faults` has its observed FIB corrupted by
// the same injector — and the voted routes installed in this namespace's kernel table. Every
// change the kernel accepted is printed as `{ fibInstalled: { prefix, gateways? }, wall }`
// (no gateways: deleted), the FIB voter's events as `{ fibEvent, wall }`; the status line
// carries the FIB vote's status. SIGTERM removes the voted routes.
//
// This module is a script: importing it starts the runner. Import its types only.

import { readFileSync } from 'node:fs';
import { FaultInjector, type FaultEvent, type FaultSpec } from '../btr/fault-inject.js';
import type { HypervisorConfig, HypervisorEvent, VoteEvent } from '../btr/hypervisor.js';
import { Hypervisor } from '../btr/hypervisor.js';
import type { ReplicaProxy } from '../btr/instance.js';
import { proxiedReplicaSpec } from '../btr/transparent-proxy.js';
import { systemClock } from '../lib/clock.js';
import type { Connector, Transport } from '../net/transport.js';
import { TcpConnector } from '../net/tcp.js';
import { Framer, MSG } from '../wire/index.js';
import type { FibVoteEvent, FibVoteStatus } from '../btr/fib-vote.js';
import { ReplicaAudit, type AuditNeighbour } from './btr-audit.js';
import { RouterFib } from './btr-fib.js';

export interface BtrRouterConfig {
  readonly hypervisor: Omit<HypervisorConfig, 'replicas'>;
  readonly replicas: readonly {
    readonly name: string;
    readonly proxy: ReplicaProxy;
    readonly startDelayMs?: number;
    /** Corrupt / slow this replica's outputs (armed by SIGUSR1). */
    readonly faults?: FaultSpec;
    /** Its namespace and lab daemon kind: where the FIB vote reads its FIB. */
    readonly ns?: string;
    readonly kind?: string;
  }[];
  /** Vote on the replicas' FIBs and install the result here (see the header). */
  readonly fib?: {
    readonly pollMs?: number;
    readonly observe?: 'monitor' | 'poll';
    /** Print each change installed (default true; the benchmark turns it off). */
    readonly logInstalled?: boolean;
  };
  /** Print every UPDATE sent to a neighbour. */
  readonly logSent?: boolean;
  /** Keep each replica's advertisements for the status (see the header). */
  readonly audit?: boolean;
}

/** One JSON line of the runner's output (see the header). */
export type BtrRouterLine =
  | { readonly event: HypervisorEvent | VoteEvent; readonly wall: number }
  | { readonly fault: FaultEvent; readonly wall: number }
  | { readonly sent: string; readonly hex: string; readonly wall: number }
  | { readonly sentOther: string; readonly type: number; readonly wall: number }
  | { readonly armed: true; readonly wall: number }
  | {
      readonly fibInstalled: { readonly prefix: string; readonly gateways?: string[] };
      readonly wall: number;
    }
  | { readonly fibEvent: FibVoteEvent; readonly wall: number }
  | {
      readonly status: ReturnType<Hypervisor['status']>;
      readonly fib?: FibVoteStatus;
      readonly audit?: AuditNeighbour[];
      readonly wall: number;
    }
  | { readonly started: true; readonly wall: number };

const print = (o: object): void =>
  void process.stdout.write(`${JSON.stringify({ ...o, wall: Date.now() })}\n`);

/** The router's side, with every UPDATE written to a neighbour printed. */
function tapped(base: Connector): Connector {
  const tap = (t: Transport): Transport => {
    const framer = new Framer({ extendedMessage: true });
    const write = t.write.bind(t);
    t.write = (bytes: Uint8Array): boolean => {
      framer.push(bytes);
      for (let m = framer.next(); m instanceof Uint8Array; m = framer.next()) {
        if (m[18] === MSG.UPDATE) {
          print({ sent: t.remote.address, hex: Buffer.from(m).toString('hex') });
        } else if (m[18] !== MSG.KEEPALIVE) {
          print({ sentOther: t.remote.address, type: m[18] });
        }
      }
      return write(bytes);
    };
    return t;
  };
  return {
    connect: async (remote, local) => tap(await base.connect(remote, local)),
    listen: (local, onAccept) => base.listen(local, (t) => onAccept(tap(t))),
  };
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: btr-router-runner.js CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as BtrRouterConfig;
  const tcp = new TcpConnector();
  const injectors = new Map<string, FaultInjector>();
  const audit = cfg.audit ? new ReplicaAudit() : undefined;
  const hv = new Hypervisor(
    {
      ...cfg.hypervisor,
      replicas: cfg.replicas.map((r) => {
        const spec = proxiedReplicaSpec(
          r,
          tcp,
          r.startDelayMs !== undefined ? { startDelayMs: r.startDelayMs } : {},
        );
        const audited = (c: Connector): Connector => (audit ? audit.connector(r.name, c) : c);
        if (!r.faults) return { ...spec, connector: audited(spec.connector) };
        const inj = new FaultInjector(r.name, r.faults, {
          clock: systemClock,
          onEvent: (e) => print({ fault: e }),
        });
        injectors.set(r.name, inj);
        return { ...spec, connector: audited(inj.connector(spec.connector)) };
      }),
    },
    {
      connector: cfg.logSent ? tapped(tcp) : tcp,
      clock: systemClock,
      random: Math.random,
      onEvent: (e) => print({ event: e }),
      log: (level, msg, fields) => {
        if (level !== 'debug') print({ log: level, msg, ...fields });
      },
    },
  );
  const fib = cfg.fib
    ? await RouterFib.start({
        replicas: cfg.replicas.flatMap((r) => {
          if (!r.ns || !r.kind) return [];
          const faults = injectors.get(r.name);
          return [{ name: r.name, ns: r.ns, kind: r.kind, ...(faults ? { faults } : {}) }];
        }),
        strategy: cfg.hypervisor.voting.strategy,
        steadyMs: cfg.hypervisor.voting.steadyMs,
        clock: systemClock,
        ...(cfg.fib.pollMs !== undefined ? { pollMs: cfg.fib.pollMs } : {}),
        ...(cfg.fib.observe ? { observe: cfg.fib.observe } : {}),
        onEvent: (e) => print({ fibEvent: e }),
        ...(cfg.fib.logInstalled === false
          ? {}
          : {
              onInstalled: (prefix: string, gateways: string[] | undefined) =>
                print({ fibInstalled: { prefix, ...(gateways ? { gateways } : {}) } }),
            }),
      })
    : undefined;
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void hv
      .stop('hypervisor stopped (SIGTERM)')
      .then(() => fib?.close())
      .finally(() => process.exit(0));
  });
  process.on('SIGUSR2', () =>
    print({
      status: hv.status(),
      ...(fib ? { fib: fib.vote.status() } : {}),
      ...(audit ? { audit: audit.report() } : {}),
    }),
  );
  process.on('SIGUSR1', () => {
    for (const i of injectors.values()) i.arm();
    print({ armed: true });
  });
  await hv.start();
  print({ started: true });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `btr-router-runner: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});

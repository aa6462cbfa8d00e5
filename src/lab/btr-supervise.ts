// The replica supervisor (src/btr/supervisor.ts) for a lab BTR router (btr-lab.ts): the
// hypervisor runs in the router's namespace (btr-router-runner.ts) while the replicas'
// daemon handles (LabRouterInstance) live in the calling process (a test, or `nonstop
// demo`), so the supervisor runs there. It is
// fed the hypervisor's and voters' events from the runner's JSON lines, polled every
// `pollMs`; their times are the runner's and are mapped to wall time (the line's `wall`),
// which is the supervisor's clock here. Kills, restarts and standby promotions are the real
// supervisor's decisions over the lab's daemons.
//
// Standbys (`SeatedInstance`). The hypervisor fixes one connector per seat at its start (the
// seat's proxy: docs/btr.md "Not done yet"), so a standby promoted into a seat must be
// reached through that seat's proxy. Our choice: a replica runs in the namespace of the seat
// it holds *now*. A standby has no namespace of its own; when the supervisor promotes it, it
// starts its daemon in the namespace of the seat it was given — which carries the router's
// addresses and the seat's proxy rules — after the supervisor has killed the seat's faulty
// replica there (it waits for that exit before launching the standby). The same holds for a
// replaced replica: it becomes a standby and may later be promoted into another seat. The
// daemon has the seat's configuration (the router's) under a name of its own
// (`<replica>-in-<seat>`) and may be another implementation. The hypervisor sees the seat's
// sessions come back and bootstraps them from the history, as after a restart.

import type { InstanceExit, InstanceFibRoute, InstanceSignal } from '../btr/instance.js';
import { LabRouterInstance } from './btr-replica.js';
import { NO_KERNEL_FIB } from './btr-fib.js';
import type { Lab } from './lab.js';
import {
  Supervisor,
  type SupervisedInstance,
  type SupervisorEvent,
  type SupervisorOptions,
} from '../btr/supervisor.js';
import type { Clock } from '../lib/clock.js';
import type { BtrLabRouter } from './btr-lab.js';

/** Wall-clock time: the runner's lines carry Date.now(). */
export const wallClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    const t = setTimeout(fn, Math.max(0, at - Date.now()));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface SupervisedRouter {
  readonly supervisor: Supervisor;
  /** Every supervisor event so far. */
  readonly events: SupervisorEvent[];
  /** Start (or stop) feeding the voters' fault events from the next line on. */
  feedVotes(on: boolean): void;
  /** Stops polling and the supervisor (replicas stopped). */
  stop(): Promise<void>;
}

export interface SuperviseOptions extends Omit<
  SupervisorOptions,
  'clock' | 'replicas' | 'instance' | 'onEvent'
> {
  /** The seated replicas' handles, in seat order (default the router's replicas). */
  readonly seated?: readonly SupervisedInstance[];
  /** Standby instances (their seat is given by the supervisor at promotion). */
  readonly standbys?: readonly SupervisedInstance[];
  /** Feed the voters' fault events (default true). */
  readonly votes?: boolean;
  readonly pollMs?: number;
  /**
   * The supervisor's time 0, in wall time (default 0: its times are Date.now()); the
   * runner's walls are mapped onto it, so its explanations read "since 1520 ms".
   */
  readonly epochMs?: number;
}

/** Starts the supervisor over `r`'s replicas (it starts them) and feeds it `r`'s events. */
export function supervise(r: BtrLabRouter, opts: SuperviseOptions = {}): SupervisedRouter {
  const {
    standbys = [],
    votes: votesAtStart = true,
    pollMs = 50,
    seated = r.replicas,
    epochMs = 0,
    ...rest
  } = opts;
  const clock: Clock = {
    now: () => wallClock.now() - epochMs,
    at: (at, fn) => wallClock.at(at + epochMs, fn),
  };
  const all: SupervisedInstance[] = [...seated, ...standbys];
  const standbyNames = new Set(standbys.map((s) => s.name));
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor({
    ...rest,
    clock,
    replicas: all.map((i) => ({
      name: i.name,
      kind: i.kind,
      standby: standbyNames.has(i.name),
    })),
    instance: (spec) => all.find((i) => i.name === spec.name)!,
    onEvent: (e) => events.push(e),
  });
  let votes = votesAtStart;
  let seen = 0;
  const feed = (): void => {
    const lines = r.lines();
    for (; seen < lines.length; seen++) {
      const l = lines[seen]!;
      if (!('event' in l)) continue;
      const e = l.event;
      if (e.type === 'vote') {
        if (!votes || e.event.type === 'master-changed') continue;
        const v = e.event;
        const at = l.wall - epochMs;
        const since = 'since' in v ? { since: Math.round(at - (v.at - v.since)) } : {};
        sup.observe({ ...e, event: { ...v, at, ...since } });
      } else {
        sup.observe({ ...e, at: l.wall - epochMs });
      }
    }
  };
  const timer = setInterval(feed, pollMs);
  sup.start();
  return {
    supervisor: sup,
    events,
    feedVotes: (on) => {
      feed();
      votes = on;
    },
    stop: async () => {
      clearInterval(timer);
      await sup.stop();
    },
  };
}

/**
 * A replica that runs in the namespace of the seat it holds now (see the header): a standby,
 * or a seated replica that may become a standby and be promoted into another seat.
 */
export class SeatedInstance implements SupervisedInstance {
  private inner: LabRouterInstance | undefined;
  private readonly bySeat = new Map<string, LabRouterInstance>();
  private readonly exitCbs = new Set<(e: InstanceExit) => void>();
  /** The seats it was started in, in order. */
  readonly seats: string[] = [];

  constructor(
    readonly name: string,
    readonly kind: string,
    private readonly lab: Lab,
    /** The seats' first replicas (a seat is named after its first replica). */
    private readonly seatReplicas: readonly LabRouterInstance[],
    /** The seat it holds now (the supervisor's `seatOf`). */
    private readonly seatOf: () => string | undefined,
    /** The lab daemon's name when it runs in another seat (default `<replica>-in-<seat>`). */
    private readonly daemonName: (seat: string) => string = (seat) => `${name}-in-${seat}`,
  ) {
    // Its own seat, if it has one: the replica as created.
    const home = seatReplicas.find((r) => r.name === name);
    if (home) this.adopt(home.name, home);
  }

  async start(): Promise<void> {
    // Before the supervisor is known (its first start), a seated replica is in its own seat.
    const seat = this.seatOf() ?? (this.bySeat.has(this.name) ? this.name : undefined);
    const host = this.seatReplicas.find((r) => r.name === seat);
    if (!host) throw new Error(`${this.name}: no seat to start in (${String(seat)})`);
    let inst = this.bySeat.get(host.name);
    if (!inst) {
      const daemon = this.lab.daemon(this.kind, {
        ...host.daemon.spec,
        name: this.daemonName(host.name),
        // The seat's spec is for the seat's first implementation.
        kernelFib: !NO_KERNEL_FIB.has(this.kind),
      });
      inst = this.adopt(
        host.name,
        new LabRouterInstance(this.name, host.node, daemon, host.proxy, this.lab),
      );
    }
    this.inner = inst;
    this.seats.push(host.name);
    await inst.start();
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
  }

  kill(signal: InstanceSignal): void {
    this.inner?.kill(signal);
  }

  running(): boolean {
    return this.inner?.running() ?? false;
  }

  onExit(cb: (exit: InstanceExit) => void): () => void {
    this.exitCbs.add(cb);
    return () => this.exitCbs.delete(cb);
  }

  fibRoutes(): Promise<InstanceFibRoute[]> {
    return this.inner ? this.inner.fibRoutes() : Promise.resolve([]);
  }

  private adopt(seat: string, inst: LabRouterInstance): LabRouterInstance {
    inst.onExit((e) => {
      if (this.inner === inst) for (const cb of [...this.exitCbs]) cb(e);
    });
    this.bySeat.set(seat, inst);
    return inst;
  }
}

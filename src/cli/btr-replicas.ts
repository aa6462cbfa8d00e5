// Where the replicas of `nonstop btr` come from (the replica factory seam) and the built-in
// factory: `nonstop` replicas in this process, each a Speaker over its own in-memory network
// (its "namespace"), with a speaker config generated from the btr config. The real-daemon
// factory (BIRD, FRR, GoBGP in network namespaces) is the lab's (src/lab/).
//
// FIB observation: an in-process replica's FIB is an `ObservedFib` (src/btr/fib-vote.ts)
// that pushes every change it applied to the FIB vote, under the seat the replica holds.
// Factories whose instances cannot push (real daemons) leave `fibPushed` unset; the router
// then polls `RouterInstance.fibRoutes()`.

import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Prefix } from '../lib/ip.js';
import { MemoryNetwork } from '../net/memory.js';
import type { Connector, Endpoint, Listener, Transport } from '../net/transport.js';
import { MemoryFib, type Fib } from '../fib/index.js';
import { formatConfigError, parseSpeakerConfig } from '../speaker/config/index.js';
import { Speaker, capabilitiesFor } from '../speaker/speaker.js';
import type { Capability } from '../wire/index.js';
import type { BtrConfig, BtrNeighbor, BtrReplica } from '../btr/config.js';
import type { InstanceExit, InstanceSignal } from '../btr/instance.js';
import type { SupervisedInstance } from '../btr/supervisor.js';
import { ObservedFib } from '../btr/fib-vote.js';

/** Where each replica's FIB changes go (the FIB vote), by seat. */
export interface ReplicaFibSink {
  /** The replica in `seat` starts (again) with an empty FIB. */
  reset(seat: string): void;
  /** A route of the replica in `seat` changed: its gateways, or undefined when removed. */
  route(seat: string, prefix: Prefix, gateways: readonly Uint8Array[] | undefined): void;
}

/** What the router hands a factory. */
export interface ReplicaFactoryContext {
  /** Push each replica's FIB changes here (absent: no FIB vote). */
  readonly fib?: ReplicaFibSink;
  readonly clock?: Clock;
}

/** Where replicas come from: in process here; real daemons in namespaces from src/lab/. */
export interface ReplicaFactory {
  /**
   * The Connector of a seat: where the hypervisor meets the replica that holds it (its
   * network namespace). A standby promoted into a seat must be reachable there.
   */
  seatConnector(seat: string): Connector;
  /** The daemon handle of `replica`; `seatOf()` says which seat it holds when it starts. */
  create(replica: BtrReplica, seatOf: () => string | undefined): SupervisedInstance;
  /** Capabilities the replicas announce to `neighbor` (the router's OPEN must match). */
  capabilities?(neighbor: BtrNeighbor): readonly Capability[] | undefined;
  /**
   * True when the instances push their FIB changes to `ctx.fib`; otherwise the router
   * polls `fibRoutes()` of instances that have it.
   */
  readonly fibPushed?: boolean;
  close?(): Promise<void>;
}

export type ReplicaFactoryMaker = (
  cfg: BtrConfig,
  log: Logger,
  ctx?: ReplicaFactoryContext,
) => ReplicaFactory;

/** The speaker config of a `nonstop` replica, as an object (JSON, so YAML). */
export function nonstopReplicaConfig(cfg: BtrConfig): Record<string, unknown> {
  const policy = (p: BtrNeighbor['import']): string[] =>
    p.kind === 'prefix-list' ? [`prefix-list-${p.name}`] : [p.kind];
  const policies: Record<string, unknown> = {
    'accept-all': { default: 'accept' },
    'reject-all': { default: 'reject' },
  };
  const lists: Record<string, unknown> = {};
  for (const [name, entries] of cfg.prefixLists) {
    lists[name] = entries.map((e) => ({
      prefix: `${formatPrefixAddr(e.prefix.addr)}/${e.prefix.len}`,
      ...(e.ge !== undefined ? { ge: e.ge } : {}),
      ...(e.le !== undefined ? { le: e.le } : {}),
      action: e.action,
    }));
    policies[`prefix-list-${name}`] = {
      terms: [{ match: { 'prefix-list': name }, final: 'accept' }],
      default: 'reject',
    };
  }
  return {
    'router-id': cfg.routerId,
    asn: cfg.asn,
    listen: [],
    fib: { mode: 'memory' },
    ...(Object.keys(lists).length ? { 'prefix-lists': lists } : {}),
    policies,
    neighbors: cfg.neighbors.map((n) => ({
      address: n.address,
      asn: n.asn,
      ...(n.localAddress ? { 'local-address': n.localAddress } : {}),
      families: n.families,
      import: policy(n.import),
      export: policy(n.export),
    })),
  };
}

/** The speaker config of a `nonstop` replica, as YAML (JSON is YAML). */
export function nonstopReplicaYaml(cfg: BtrConfig): string {
  return JSON.stringify(nonstopReplicaConfig(cfg));
}

function formatPrefixAddr(a: Uint8Array): string {
  if (a.length === 4) return a.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  return words.join(':');
}

/** One process's network: kill() resets its connections at once, as kill -9 would. */
class ProcessNetwork implements Connector {
  private readonly transports = new Set<Transport>();
  private readonly listeners: Listener[] = [];
  private dead = false;
  constructor(
    private readonly inner: Connector,
    private readonly wrap: (t: Transport) => Transport = (t) => t,
  ) {}
  async connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    if (this.dead) throw new Error('process killed');
    const t = await this.inner.connect(remote, local);
    return this.track(t);
  }
  async listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    if (this.dead) throw new Error('process killed');
    const l = await this.inner.listen(local, (t) => onAccept(this.track(t)));
    this.listeners.push(l);
    return l;
  }
  private track(t: Transport): Transport {
    if (this.dead) {
      t.destroy();
      throw new Error('process killed');
    }
    const w = this.wrap(t);
    this.transports.add(w);
    t.onClose(() => this.transports.delete(w));
    return w;
  }
  async kill(): Promise<void> {
    this.dead = true;
    for (const t of this.transports) t.destroy();
    this.transports.clear();
    await Promise.all(this.listeners.splice(0).map((l) => l.close()));
  }
}

/**
 * Variations of in-process replicas: per-replica speaker settings (diversity), and wrappers
 * of a replica's transports and FIB (a deliberately buggy replica, for the demo and tests).
 * `incarnation` counts the replica's starts from 1.
 */
export interface InProcessOptions {
  /** Change the generated speaker config of a replica (e.g. its decision knobs). */
  readonly speakerConfig?: (replica: BtrReplica, base: Record<string, unknown>) => object;
  readonly wrapTransport?: (replica: BtrReplica, incarnation: number, t: Transport) => Transport;
  readonly wrapFib?: (replica: BtrReplica, incarnation: number, fib: Fib) => Fib;
}

/** A `nonstop` replica in this process: a Speaker over the network of its seat. */
class InProcessReplica implements SupervisedInstance {
  readonly kind = 'nonstop';
  private speaker: Speaker | undefined;
  private net: ProcessNetwork | undefined;
  private fib: ObservedFib | undefined;
  private incarnation = 0;
  private readonly exits: ((exit: InstanceExit) => void)[] = [];

  constructor(
    private readonly spec: BtrReplica,
    private readonly yaml: string,
    private readonly seatOf: () => string | undefined,
    private readonly seatNetwork: (seat: string) => Connector,
    private readonly log: Logger,
    private readonly ctx: ReplicaFactoryContext,
    private readonly opts: InProcessOptions,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  async start(): Promise<void> {
    const seat = this.seatOf();
    if (seat === undefined) throw new Error(`replica ${this.name} holds no seat`);
    const parsed = parseSpeakerConfig(this.yaml, `${this.name} (generated)`);
    if (!parsed.ok) throw new Error(parsed.error.map((e) => formatConfigError(e)).join('; '));
    const n = ++this.incarnation;
    const wrapT = this.opts.wrapTransport;
    const net = new ProcessNetwork(
      this.seatNetwork(seat),
      wrapT ? (t) => wrapT(this.spec, n, t) : undefined,
    );
    const sink = this.ctx.fib;
    sink?.reset(seat);
    const observed = new ObservedFib(new MemoryFib(), (prefix, gws) =>
      sink?.route(seat, prefix, gws),
    );
    const fib = this.opts.wrapFib ? this.opts.wrapFib(this.spec, n, observed) : observed;
    const speaker = new Speaker(parsed.value, {
      connector: net,
      clock: this.ctx.clock ?? systemClock,
      logger: this.log.child({ replica: this.name }),
      fib,
    });
    this.net = net;
    this.fib = observed;
    this.speaker = speaker;
    await speaker.start();
  }

  async stop(): Promise<void> {
    const s = this.speaker;
    if (!s) return;
    this.speaker = undefined;
    this.fib?.detach();
    await s.stop('btr: replica stopped');
    await this.net?.kill();
    this.exited({ code: 0, signal: null, expected: true });
  }

  kill(signal: InstanceSignal): void {
    const s = this.speaker;
    // In process there is nothing to stop or continue: SIGSTOP/SIGCONT are not supported.
    if (!s || signal !== 'SIGKILL') return;
    this.speaker = undefined;
    this.fib?.detach();
    const net = this.net;
    void (async () => {
      await net?.kill(); // connections reset first: no Cease leaves a killed process
      await s.stop('killed').catch(() => undefined);
      this.exited({ code: null, signal, expected: false });
    })();
  }

  running(): boolean {
    return this.speaker !== undefined;
  }

  onExit(cb: (exit: InstanceExit) => void): () => void {
    this.exits.push(cb);
    return () => void this.exits.splice(this.exits.indexOf(cb) >>> 0, 1);
  }

  private exited(info: InstanceExit): void {
    for (const cb of this.exits) cb(info);
  }
}

/** The built-in factory with variations (diversity knobs, buggy replicas). */
export function makeInProcessFactory(opts: InProcessOptions = {}): ReplicaFactoryMaker {
  return (cfg, log, ctx = {}) => {
    const seats = new Map<string, MemoryNetwork>();
    const base = nonstopReplicaConfig(cfg);
    const yaml = nonstopReplicaYaml(cfg);
    const speakerCfg = parseSpeakerConfig(yaml, 'nonstop replica (generated)');
    const seatConnector = (seat: string): MemoryNetwork => {
      let n = seats.get(seat);
      if (!n) seats.set(seat, (n = new MemoryNetwork()));
      return n;
    };
    return {
      fibPushed: true,
      seatConnector,
      create(replica, seatOf) {
        if (replica.implementation !== 'nonstop') {
          throw new Error(
            `replica ${replica.name}: implementation ${replica.implementation} needs the namespace factory (btr-lab-replicas.ts: real daemons in network namespaces); the in-process factory runs nonstop replicas only`,
          );
        }
        const own = opts.speakerConfig
          ? JSON.stringify(opts.speakerConfig(replica, structuredClone(base)))
          : yaml;
        return new InProcessReplica(replica, own, seatOf, seatConnector, log, ctx, opts);
      },
      capabilities(neighbor) {
        if (!speakerCfg.ok) return undefined;
        const n = speakerCfg.value.neighbors.find((x) => x.key === neighbor.address);
        return n ? capabilitiesFor(n, speakerCfg.value) : undefined;
      },
    };
  };
}

/** The built-in factory: `nonstop` replicas in process, one in-memory network per seat. */
export const inProcessFactory: ReplicaFactoryMaker = makeInProcessFactory();

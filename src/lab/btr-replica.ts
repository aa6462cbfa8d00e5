// Replicas of a bug-tolerant router as lab daemons (ARCHITECTURE.md "Bug-tolerant router";
// docs/btr.md "Replicas in namespaces"): `RouterInstance` (src/btr/instance.ts) over the
// lab's daemon adapters. Each replica gets a namespace of its own, joined to the router's
// namespace (where the hypervisor runs) by one veth pair, and runs the router's
// configuration unchanged — the DaemonSpec of the router, with the kernel FIB on.
//
// Inside the replica's namespace, on its end of the link:
// - the router's own addresses (`BtrRouterSpec.addresses`, e.g. 198.18.1.1/30), so every
//   neighbour is directly connected and the daemon binds to the router's addresses;
// - a link address of its own (198.18.255.4s+2/30, 2001:db8:ffff:s::2/64 for slot s), the
//   router's end having 4s+1 and ::1. Only the proxy uses them.
// and an nftables table `nst_btr` (`proxyRuleset`):
// - accept mode: output DNAT of TCP to (neighbour i, port 179) → (hypervisor's link
//   address, acceptPort + i); postrouting SNAT of those connections to the replica's link
//   address, because the router's namespace owns the router's addresses and would drop
//   packets coming from them (martian source);
// - connect mode: prerouting DNAT of TCP to (replica's link address, connectPort + i) →
//   (the router's address towards neighbour i, port 179), and input SNAT of those
//   connections to neighbour i's address: the daemon sees the neighbour connect. The
//   daemon is made passive, as the paper's virtd connects to its replicas.
// The daemon's sockets never see the rewriting: its local address is the router's, so the
// next hop it sends is the router's, as a single router would send.

import { parseAddr, maskAddr } from '../lib/ip.js';
import { bytesEqual } from '../lib/bytes.js';
import type {
  InstanceExit,
  InstanceFibRoute,
  InstanceSignal,
  ProxiedNeighbor,
  ReplicaProxy,
  RouterInstance,
} from '../btr/instance.js';
import { checkLabCidr } from '../net/netns.js';
import { NO_KERNEL_FIB, namespaceFibRoutes } from './btr-fib.js';
import type { Lab, LabNode } from './lab.js';
import type { Daemon, DaemonSpec } from './daemons/types.js';

/** The router every replica pretends to be. */
export interface BtrRouterSpec extends Omit<DaemonSpec, 'name' | 'ns'> {
  /**
   * The router's own addresses with prefix length, on its links to the neighbours
   * ("198.18.1.1/30"): each replica carries all of them on its one interface.
   */
  addresses: string[];
}

export interface BtrReplicaOptions {
  /** Replica name: the lab node, the daemon and the hypervisor's replica (e.g. "rbird"). */
  name: string;
  /** Lab daemon kind: 'nonstop', 'bird', 'bird1', 'frr', 'gobgp'. */
  kind: string;
  router: BtrRouterSpec;
  /** The router's namespace, where the hypervisor runs. */
  routerNode: LabNode;
  /** 0 to 63: picks the link addresses (198.18.255.4s+1/30, …). Unique per router. */
  slot: number;
  /** Default 'accept' (the replica connects, as it would to the neighbour). */
  mode?: 'accept' | 'connect';
  /** First port of each mode, plus the neighbour's index: default 10179 and 20179. */
  ports?: { accept?: number; connect?: number };
  /** Settings of the daemon that are not the router's (log level, raw config). */
  daemon?: Pick<DaemonSpec, 'logLevel' | 'extra' | 'nodeArgs'>;
}

interface LinkPlan {
  hypervisor: { v4: string; v6: string };
  replica: { v4: string; v6: string };
}

/** The link addresses of a slot (without lengths: /30 and /64). */
export function replicaLink(slot: number): LinkPlan {
  if (!Number.isInteger(slot) || slot < 0 || slot > 63) {
    throw new Error(`BTR replica slot ${slot}: from 0 to 63`);
  }
  const hex = slot.toString(16);
  return {
    hypervisor: { v4: `198.18.255.${4 * slot + 1}`, v6: `2001:db8:ffff:${hex}::1` },
    replica: { v4: `198.18.255.${4 * slot + 2}`, v6: `2001:db8:ffff:${hex}::2` },
  };
}

/** The router's address on the subnet of `neighbor` (its `localAddress` if given). */
export function routerAddressFor(
  router: BtrRouterSpec,
  neighbor: { address: string; localAddress?: string },
): string {
  if (neighbor.localAddress) return neighbor.localAddress;
  const n = parseAddr(neighbor.address);
  for (const cidr of router.addresses) {
    const { addr, len } = checkLabCidr(cidr);
    const a = parseAddr(addr)!;
    if (n && a.length === n.length && bytesEqual(maskAddr(a, len), maskAddr(n, len))) return addr;
  }
  throw new Error(
    `BTR router: no address of ${router.addresses.join(', ')} is on the subnet of neighbour ${neighbor.address}; give its localAddress`,
  );
}

/** The proxy of one replica: where the hypervisor meets its session with each neighbour. */
export function replicaProxy(
  router: BtrRouterSpec,
  slot: number,
  mode: 'accept' | 'connect',
  ports: { accept?: number; connect?: number } = {},
): ReplicaProxy {
  const link = replicaLink(slot);
  const accept = ports.accept ?? 10179;
  const connect = ports.connect ?? 20179;
  return {
    mode,
    neighbors: router.neighbors.map((n, i): ProxiedNeighbor => {
      const v = n.address.includes(':') ? 'v6' : 'v4';
      return {
        address: n.address,
        accept: { address: link.hypervisor[v], port: accept + i },
        connect: {
          remote: { address: link.replica[v], port: connect + i },
          local: link.hypervisor[v],
        },
      };
    }),
  };
}

/** The nftables ruleset of a replica's namespace (see the header). */
export function proxyRuleset(router: BtrRouterSpec, proxy: ReplicaProxy): string {
  const out: string[] = [];
  const pre: string[] = [];
  const post: string[] = [];
  const input: string[] = [];
  router.neighbors.forEach((n, i) => {
    const p = proxy.neighbors[i];
    if (!p || p.address !== n.address) throw new Error('proxy and router neighbours differ');
    const fam = n.address.includes(':') ? 'ip6' : 'ip';
    const ep = (a: string, port: number): string =>
      fam === 'ip6' ? `[${a}]:${port}` : `${a}:${port}`;
    const local = routerAddressFor(router, n);
    const hv = p.accept.address;
    const mine = p.connect.remote.address;
    out.push(`${fam} daddr ${n.address} tcp dport 179 dnat ${fam} to ${ep(hv, p.accept.port)}`);
    post.push(`${fam} daddr ${hv} tcp dport ${p.accept.port} snat ${fam} to ${mine}`);
    pre.push(
      `${fam} daddr ${mine} tcp dport ${p.connect.remote.port} dnat ${fam} to ${ep(local, 179)}`,
    );
    input.push(
      `meta l4proto tcp ct original ${fam} daddr ${mine} ct original proto-dst ${p.connect.remote.port} snat ${fam} to ${n.address}`,
    );
  });
  const chain = (name: string, hook: string, prio: number, rules: string[]): string =>
    `  chain ${name} {\n    type nat hook ${hook} priority ${prio}; policy accept;\n` +
    rules.map((r) => `    ${r}\n`).join('') +
    `  }\n`;
  return (
    `table inet nst_btr {\n` +
    chain('output', 'output', -100, proxy.mode === 'accept' ? out : []) +
    chain('postrouting', 'postrouting', 100, proxy.mode === 'accept' ? post : []) +
    chain('prerouting', 'prerouting', -100, proxy.mode === 'connect' ? pre : []) +
    chain('input', 'input', 100, proxy.mode === 'connect' ? input : []) +
    `}\n`
  );
}

/** A replica of the router: a lab daemon in its own namespace, behind the transparent proxy. */
export class LabRouterInstance implements RouterInstance {
  readonly kind: string;
  private readonly exitCbs = new Set<(e: InstanceExit) => void>();
  private run = 0;
  private stopping = false;

  constructor(
    readonly name: string,
    readonly node: LabNode,
    readonly daemon: Daemon,
    readonly proxy: ReplicaProxy,
    private readonly lab: Lab,
  ) {
    this.kind = daemon.kind;
  }

  async start(): Promise<void> {
    this.stopping = false;
    const run = ++this.run;
    try {
      await this.daemon.start();
    } finally {
      this.watch(run);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.daemon.stop();
  }

  kill(signal: InstanceSignal): void {
    this.daemon.kill(signal);
  }

  running(): boolean {
    return this.daemon.running();
  }

  onExit(cb: (exit: InstanceExit) => void): () => void {
    this.exitCbs.add(cb);
    return () => this.exitCbs.delete(cb);
  }

  /** The first of this run's processes to exit ends the run (reported once). */
  private watch(run: number): void {
    let reported = false;
    for (const p of this.daemon.processes?.() ?? []) {
      void p.exited.then((info) => {
        if (reported || run !== this.run) return;
        reported = true;
        const e: InstanceExit = { code: info.code, signal: info.signal, expected: this.stopping };
        for (const cb of [...this.exitCbs]) cb(e);
      });
    }
  }

  /**
   * The namespace's main kernel table, without connected and other non-routing routes; for
   * a daemon without a kernel FIB, the best routes learned from neighbours in its RIB.
   */
  async fibRoutes(): Promise<InstanceFibRoute[]> {
    const out: InstanceFibRoute[] = [];
    if (NO_KERNEL_FIB.has(this.kind)) {
      for (const fam of ['ipv4', 'ipv6'] as const) {
        for (const r of await this.daemon.routes(fam)) {
          if (!r.best || !r.peer) continue;
          out.push({ prefix: r.prefix, gateways: [...new Set(r.nextHops)].sort() });
        }
      }
      return out;
    }
    return namespaceFibRoutes(this.node.ns);
  }

  /** The nftables ruleset in force in its namespace (for diagnostics). */
  async proxyRules(): Promise<string> {
    return (await this.lab.exec(this.node, 'nft', ['list', 'table', 'inet', 'nst_btr'])).stdout;
  }
}

/**
 * The DaemonSpec of a replica in namespace `ns`: the router's configuration (without its
 * addresses), with what one interface carrying every router address needs (see below).
 */
export function replicaDaemonSpec(
  o: Pick<BtrReplicaOptions, 'name' | 'kind' | 'router' | 'mode' | 'daemon'>,
  ns: string,
): DaemonSpec {
  const mode = o.mode ?? 'accept';
  const { addresses: _addresses, ...router } = o.router;
  return {
    ...router,
    ...o.daemon,
    name: o.name,
    ns,
    kernelFib: !NO_KERNEL_FIB.has(o.kind),
    // Every router address sits on the replica's one interface, so BIRD would see the other
    // neighbours on a shared subnet and pass their next hops on (third party, RFC 4271
    // §5.1.3) — which the router, with one link per neighbour, never does.
    neighbors: o.router.neighbors.map((n) => ({
      ...n,
      nextHopSelf: true,
      // BIRD 1.6 would pass the MED it received on to the other neighbour; the others do not.
      noMedOut: true,
      // FRR would send each neighbour its own routes back (see NeighborSpec.noEcho).
      noEcho: true,
      ...(mode === 'connect' ? { passive: true } : {}),
    })),
  };
}

/**
 * Creates a replica (not started): its namespace, its link to the router's namespace, the
 * proxy rules, and the daemon with the router's configuration. Everything belongs to `lab`
 * and goes with `lab.destroy()`.
 */
export async function btrReplica(lab: Lab, o: BtrReplicaOptions): Promise<LabRouterInstance> {
  const mode = o.mode ?? 'accept';
  const proxy = replicaProxy(o.router, o.slot, mode, o.ports);
  const link = replicaLink(o.slot);
  const v6 = o.router.neighbors.some((n) => n.address.includes(':'));
  const node = await lab.node(o.name);
  await lab.link(
    {
      node: o.routerNode,
      addresses: [`${link.hypervisor.v4}/30`, ...(v6 ? [`${link.hypervisor.v6}/64`] : [])],
    },
    {
      node,
      addresses: [
        ...o.router.addresses,
        `${link.replica.v4}/30`,
        ...(v6 ? [`${link.replica.v6}/64`] : []),
      ],
    },
  );
  const rules = proxyRuleset(o.router, proxy);
  const r = await lab.exec(node, 'nft', ['-f', '-'], { input: rules });
  if (r.code !== 0) {
    throw new Error(
      `BTR replica ${o.name}: nft -f failed (is the nftables package installed? scripts/setup.sh installs it): ${r.stderr || r.stdout}\n${rules}`,
    );
  }
  const spec = replicaDaemonSpec(o, node.ns);
  return new LabRouterInstance(o.name, node, lab.daemon(o.kind, spec), proxy, lab);
}

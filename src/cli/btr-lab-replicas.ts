// The real-daemon replica factory of `nonstop btr` (docs/btr.md "Replicas of `nonstop btr`
// in namespaces"): BIRD 2, BIRD 1.6, FRR, GoBGP and nonstop replicas, unmodified, each in a
// network namespace of its own that carries the router's addresses, behind the transparent
// proxy (src/lab/btr-replica.ts), while the hypervisor runs here, in the namespace
// `nonstop btr` was started in (the router's).
//
// Setup (`prepareLabReplicas`, before the router is composed, because the hypervisor listens
// on the replicas' links as soon as it starts). One lab (src/lab/lab.ts) owns the replica
// side; per seat s (the replicas without `standby`, in config order):
// - a namespace `nst-<pid>_<xx>-seat<s>` (the lab's naming, so `cleanupStale()` recognises
//   a crashed run's leftovers by their owner pid);
// - one veth pair made from HERE: `ip link add nst-b<s>-<pid> type veth peer name nst-router
//   netns <seat ns>`. Our end stays in this namespace with the link addresses of slot s
//   (`replicaLink`: 198.18.255.4s+1/30, 2001:db8:ffff:s::1/64); the replica's end carries the
//   router's addresses and 4s+2 / ::2. This namespace is never named, attached or entered:
//   `ip` runs in it because we do. Nothing here can delete it or kill what runs in it.
// - the proxy's nftables table in the seat's namespace (`proxyRuleset`, accept mode), and a
//   lab daemon with the router's configuration (`replicaDaemonSpec`).
// A standby has no namespace of its own: promoted into a seat, it runs in that seat's
// namespace, behind that seat's proxy (`SeatedInstance`, src/lab/btr-supervise.ts).
//
// Teardown (`close()`, from the router's stop on SIGTERM/SIGINT, or on a failed start):
// the daemons are stopped (SIGTERM, then SIGKILL), the seat namespaces deleted with whatever
// still runs in them — which deletes both ends of every veth pair, and with our ends the
// addresses added here — and the lab's temp dir removed. A crash: the lab's exit handler
// does the same synchronously; after a SIGKILL, `cleanupStale()` (a later lab run, or the
// snippet in docs/btr.md) deletes the namespaces whose owner is gone, and the veths go
// with them; `nonstop btr` runs it itself before setting up.

import { spawnSync } from 'node:child_process';
import type { Logger } from '../lib/log.js';
import { bytesEqual } from '../lib/bytes.js';
import { maskAddr, parseAddr } from '../lib/ip.js';
import { checkIfName, ip, linkSetUp } from '../net/netns.js';
import { TcpConnector } from '../net/tcp.js';
import type { Connector } from '../net/transport.js';
import type { BtrConfig, BtrNeighbor, Implementation } from '../btr/config.js';
import type { ReplicaProxy } from '../btr/instance.js';
import { ProxyConnector } from '../btr/transparent-proxy.js';
import { cleanupStale } from '../lab/cleanup.js';
import { Lab } from '../lab/lab.js';
import { labMissingBinaries, namespaceProblem } from '../lab/preflight.js';
import {
  LabRouterInstance,
  proxyRuleset,
  replicaDaemonSpec,
  replicaLink,
  replicaProxy,
  type BtrRouterSpec,
} from '../lab/btr-replica.js';
import { SeatedInstance } from '../lab/btr-supervise.js';
import type { Family, NeighborSpec } from '../lab/daemons/types.js';
import type { ReplicaFactory, ReplicaFactoryMaker } from './btr-replicas.js';

/** The interface name of every replica's end of its link (inside its own namespace). */
export const REPLICA_IFNAME = 'nst-router';

/** Our end of seat `slot`'s link, in this namespace: `nst-b<slot>-<pid base 36>`. */
export function routerIfname(slot: number, pid = process.pid): string {
  return checkIfName(`nst-b${slot}-${pid.toString(36)}`);
}

/** Does the config need the namespace factory (a replica other than nonstop)? */
export const needsNamespaces = (cfg: BtrConfig): boolean =>
  cfg.replicas.some((r) => r.implementation !== 'nonstop');

/**
 * What is missing to run `cfg`'s replicas in namespaces (empty when nothing is): root,
 * usable network namespaces, nftables and each implementation's binaries.
 */
export function labReplicaProblems(cfg: BtrConfig): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) {
    problems.push(
      `root is needed for network namespaces (running as uid ${process.getuid?.() ?? '?'})`,
    );
  }
  const kinds = [...new Set(cfg.replicas.map((r) => r.implementation))].filter(
    (k) => k !== 'nonstop',
  );
  problems.push(...labMissingBinaries([...kinds, 'btr']));
  if (problems.length === 0) {
    const ns = namespaceProblem();
    if (ns) problems.push(ns);
  }
  return problems;
}

/** Why the policies of `cfg` cannot be given to real daemons yet (empty: they can). */
export function policyProblems(cfg: BtrConfig): string[] {
  const out: string[] = [];
  for (const n of cfg.neighbors) {
    if (n.import.kind !== 'accept-all') {
      out.push(
        `neighbour ${n.name}: import ${n.import.kind} (replicas in namespaces take import accept-all only)`,
      );
    }
    if (n.export.kind === 'prefix-list') {
      out.push(
        `neighbour ${n.name}: export { prefix-list: ${n.export.name} } (replicas in namespaces take export accept-all or reject-all only)`,
      );
    }
  }
  return out;
}

const FAMILY: Record<string, Family> = { 'ipv4-unicast': 'ipv4', 'ipv6-unicast': 'ipv6' };

/** The lab's neighbour of a btr neighbour (the router's configuration, common subset). */
function neighborSpec(n: BtrNeighbor): NeighborSpec {
  return {
    address: n.address,
    asn: n.asn,
    ...(n.localAddress ? { localAddress: n.localAddress } : {}),
    families: n.families.map((f) => FAMILY[f]!),
    ...(n.export.kind === 'reject-all' ? { receiveOnly: true } : {}),
  };
}

interface AddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
}

/**
 * The router's addresses with their lengths: `interfaces` of the config if given; otherwise,
 * per neighbour, the address of this namespace that is its `local-address`, or on its subnet.
 */
export function routerAddresses(
  cfg: BtrConfig,
  here: readonly { address: string; length: number }[],
): string[] {
  const configured = cfg.interfaces.flatMap((i) =>
    i.addresses.map((a) => `${a.address}/${a.length}`),
  );
  if (configured.length > 0) return configured;
  const out = new Set<string>();
  for (const n of cfg.neighbors) {
    const nb = parseAddr(n.address)!;
    const mine = here.find((a) => {
      if (n.localAddress) return a.address === n.localAddress;
      const b = parseAddr(a.address);
      return (
        !!b &&
        b.length === nb.length &&
        a.length < b.length * 8 &&
        bytesEqual(maskAddr(b, a.length), maskAddr(nb, a.length))
      );
    });
    if (!mine) {
      throw new Error(
        `neighbour ${n.name}: no address of this namespace is ${n.localAddress ? `its local-address ${n.localAddress}` : `on the subnet of ${n.address}`}; list the router's addresses under interfaces`,
      );
    }
    out.add(`${mine.address}/${mine.length}`);
  }
  return [...out];
}

/** The router every replica pretends to be, from the btr config. */
export function routerSpec(cfg: BtrConfig, addresses: string[]): BtrRouterSpec {
  return {
    routerId: cfg.routerId,
    asn: cfg.asn,
    addresses,
    neighbors: cfg.neighbors.map(neighborSpec),
  };
}

/** A lab daemon name (`[a-z][a-z0-9_-]{0,30}`) for a replica name, unique by `taken`. */
function daemonName(replica: string, taken: Set<string>): string {
  const base = `r-${replica.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}`.slice(0, 28);
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}${i}`;
  taken.add(name);
  return name;
}

/** The replica namespaces, ready: what the factory is made of. */
export interface LabReplicas {
  /** The factory for BtrRouter (one router per LabReplicas). */
  readonly maker: ReplicaFactoryMaker;
  /** Seat name → its namespace. */
  readonly namespaces: ReadonlyMap<string, string>;
  /** The lab's directory (the daemons' configs and logs). */
  readonly dir: string;
  /** Stops the daemons, deletes the namespaces and their links; idempotent. */
  close(): Promise<void>;
}

/**
 * Creates every seat's namespace, link and proxy, and the daemons (not started); see the
 * header. Throws (having removed what it made) on a policy outside the subset or a failure.
 */
export async function prepareLabReplicas(cfg: BtrConfig, log: Logger): Promise<LabReplicas> {
  const policy = policyProblems(cfg);
  if (policy.length > 0) throw new Error(policy.join('; '));
  // What a crashed run left (its owner is gone): its links would hold our slots' addresses.
  const stale = await cleanupStale();
  if (stale.namespaces.length > 0 || stale.dirs.length > 0) {
    log.warn('removed what crashed lab runs left', { ...stale });
  }
  const links = JSON.parse((await ip(['-j', 'addr', 'show'])) || '[]') as {
    addr_info?: AddrInfo[];
  }[];
  const here = links.flatMap((l) =>
    (l.addr_info ?? []).flatMap((a) =>
      a.local && a.prefixlen !== undefined ? [{ address: a.local, length: a.prefixlen }] : [],
    ),
  );
  const router = routerSpec(cfg, routerAddresses(cfg, here));
  const seats = cfg.replicas.filter((r) => !r.standby);
  if (seats.length > 64) throw new Error(`${seats.length} seats: at most 64 in namespaces`);
  const v6 = router.neighbors.some((n) => n.address.includes(':'));

  const lab = Lab.create({ signals: false });
  const ours: string[] = [];
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      // Deleting a seat's namespace deletes both ends of its veth pair and our addresses.
      await lab.destroy().catch((e: unknown) => log.warn('replica namespaces: teardown', { e }));
      for (const ifname of ours) {
        if (spawnSync('ip', ['link', 'show', ifname], { stdio: 'ignore' }).status === 0) {
          spawnSync('ip', ['link', 'delete', ifname], { stdio: 'ignore' });
        }
      }
    })());

  const proxies = new Map<string, ReplicaProxy>();
  const namespaces = new Map<string, string>();
  const seatInstances: LabRouterInstance[] = [];
  const names = new Set<string>();
  const nameOf = new Map<string, string>();
  for (const r of cfg.replicas) nameOf.set(r.name, daemonName(r.name, names));
  try {
    for (const [slot, seat] of seats.entries()) {
      const link = replicaLink(slot);
      const proxy = replicaProxy(router, slot, 'accept');
      const node = await lab.node(`seat${slot}`);
      const mine = routerIfname(slot);
      ours.push(mine);
      await ip([
        'link',
        'add',
        mine,
        'type',
        'veth',
        'peer',
        'name',
        REPLICA_IFNAME,
        'netns',
        node.ns,
      ]);
      await ip(['addr', 'add', `${link.hypervisor.v4}/30`, 'dev', mine]);
      if (v6) await ip(['addr', 'add', `${link.hypervisor.v6}/64`, 'dev', mine, 'nodad']);
      await ip(['link', 'set', mine, 'up']);
      // The router's addresses may be real ones: they only live in this private namespace.
      for (const cidr of [
        ...router.addresses,
        `${link.replica.v4}/30`,
        ...(v6 ? [`${link.replica.v6}/64`] : []),
      ]) {
        const extra = cidr.includes(':') ? ['nodad'] : [];
        await ip(['-n', node.ns, 'addr', 'add', cidr, 'dev', REPLICA_IFNAME, ...extra]);
      }
      await linkSetUp(node.ns, REPLICA_IFNAME);
      const rules = proxyRuleset(router, proxy);
      const r = await lab.exec(node, 'nft', ['-f', '-'], { input: rules });
      if (r.code !== 0) {
        throw new Error(`seat ${seat.name}: nft -f failed: ${(r.stderr || r.stdout).trim()}`);
      }
      const spec = replicaDaemonSpec(
        {
          name: nameOf.get(seat.name)!,
          kind: seat.implementation,
          router,
          daemon: { logLevel: cfg.log.level },
        },
        node.ns,
      );
      const daemon = lab.daemon(seat.implementation, spec);
      seatInstances.push(new LabRouterInstance(seat.name, node, daemon, proxy, lab));
      proxies.set(seat.name, proxy);
      namespaces.set(seat.name, node.ns);
    }
  } catch (e) {
    await close();
    throw e;
  }
  log.info('replica namespaces ready', {
    seats: [...namespaces].map(([s, ns]) => `${s}: ${ns}`),
    dir: lab.dir,
  });

  const maker: ReplicaFactoryMaker = () => {
    const tcp = new TcpConnector();
    const connectors = new Map<string, Connector>();
    const factory: ReplicaFactory = {
      seatConnector(seat) {
        let c = connectors.get(seat);
        if (!c) {
          const proxy = proxies.get(seat);
          if (!proxy) throw new Error(`no namespace for seat ${seat}`);
          connectors.set(seat, (c = new ProxyConnector(tcp, proxy)));
        }
        return c;
      },
      create(replica, seatOf) {
        const kind: Implementation = replica.implementation;
        const own = nameOf.get(replica.name)!;
        return new SeatedInstance(replica.name, kind, lab, seatInstances, seatOf, (seat) =>
          daemonName(`${own.slice(2)}-in-${nameOf.get(seat)!.slice(2)}`, names),
        );
      },
      close,
    };
    return factory;
  };
  return { maker, namespaces, dir: lab.dir, close };
}

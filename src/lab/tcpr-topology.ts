// TCPR interposition in network namespaces (ARCHITECTURE.md § TCPR; spec
// tcpr-and-tcp-repair §5.1): the protected application's namespace `app`, the peers'
// namespace `peer`, and between them the middlebox's namespace `tcpr`, which routes every
// packet of theirs through two persistent TUN devices that the packet pump owns.
//
//   app ──veth── tcpr ──veth── peer        (namespaces mode)
//                 │ iif nst-app  → table 101 → TUN nst-tapp → pump.fromApp
//                 │ iif nst-peer → table 102 → TUN nst-tpeer → pump.fromPeer
//                 │ pump writes to nst-tapp / nst-tpeer → main table → by destination
//
// The middlebox namespace only ever owns its own router addresses (.1), never the app's
// or the peer's, so its kernel has no socket to answer their segments with a RST. The
// per-interface tables end in a blackhole, and each rule is followed by a blackhole rule:
// if the pump is down (devices detached) or a device is gone, their packets are dropped,
// never routed around the middlebox (fail closed).
//
// Harness mode replaces app and peer by two more TUN devices in the tcpr namespace that a
// test drives: what it writes to `testAppTun` is routed into the app-side TUN; what the
// pump writes towards a peer address is routed out of `testPeerTun` (and the reverse).
//
// NFQUEUE interposition (`interposition: 'nfqueue'`, namespaces mode only; docs/
// tcpr-nfqueue.md) makes the tcpr namespace a plain router instead — no TUNs, no policy
// routing — whose forward hook (chain `nst-tcpr` jumped to from FORWARD, IPv4 and IPv6)
// queues what arrives on the app veth to queue 101 and on the peer veth to queue 102,
// except packets carrying the pump's injection mark. No `--queue-bypass`: with nobody bound
// to a queue the kernel drops (fail closed). The rules are iptables' (xt NFQUEUE through
// iptables-nft), not native nft: nft's `queue` needs CONFIG_NFT_QUEUE, which kernels like
// this VM's leave out. The side-channel addresses are routed to an IFB device, so the
// app's datagrams to them are forwarded, and thus queued, like everything else; an IFB
// drops whatever is sent to it without a tc redirect, so nothing ever leaves through it.

import type { LabNode } from './lab.js';
import { Lab } from './lab.js';
import { nsExec, nsExecChecked, ip } from '../net/netns.js';
import type { ManagedProcess, RunOptions, RunResult } from '../net/process.js';
import {
  startPump,
  type NfqueueEndpoint,
  type Pump,
  type PumpOptions,
  type TunEndpoint,
} from '../net/packet-pump.js';
import { checkInjectionMark } from '../net/nfqueue.js';
import { createPersistentTun, TunDevice } from '../net/tun.js';
import { sleep, waitFor } from '../net/wait.js';

/** The topology's addresses (lab ranges only: 198.18.0.0/15, 2001:db8::/32). */
export const TCPR_ADDRESSES = {
  app: { v4: '198.18.1.2', v6: '2001:db8:1::2' },
  peer: { v4: '198.18.2.2', v6: '2001:db8:2::2' },
  /** The middlebox's router addresses on the app and peer links (gateways). */
  tcprApp: { v4: '198.18.1.1', v6: '2001:db8:1::1' },
  tcprPeer: { v4: '198.18.2.1', v6: '2001:db8:2::1' },
  appNet: { v4: '198.18.1.0/24', v6: '2001:db8:1::/64' },
  peerNet: { v4: '198.18.2.0/24', v6: '2001:db8:2::/64' },
  /**
   * Owned by nobody: packets from the app to it go into the app-side TUN like any other,
   * so the filter can take the TCPR side channel (UDP) from there.
   */
  sideChannel: { v4: '198.18.0.1', v6: '2001:db8::1' },
} as const;

/** Routing tables and rule priorities in the tcpr namespace. */
export const TCPR_ROUTING = {
  fromAppTable: 101,
  fromPeerTable: 102,
  fromAppPref: 1000,
  fromPeerPref: 1010,
} as const;

/** Interface names inside the tcpr namespace. */
export const TCPR_IFNAMES = {
  appVeth: 'nst-app',
  peerVeth: 'nst-peer',
  appTun: 'nst-tapp',
  peerTun: 'nst-tpeer',
  testAppTun: 'nst-tta',
  testPeerTun: 'nst-ttp',
  /** NFQUEUE mode: the dummy device the side-channel addresses are routed to. */
  channel: 'nst-chan',
} as const;

/** NFQUEUE mode: the iptables chain in the tcpr namespace, its queues and the injection mark. */
export const TCPR_NFQUEUE = {
  chain: 'nst-tcpr',
  appQueue: 101,
  peerQueue: 102,
  mark: 0x6e7374,
} as const;

export type TcprTopologyMode = 'namespaces' | 'harness';
/** How the middlebox sees the packets: TUN devices it routes through, or NFQUEUE. */
export type TcprInterposition = 'tun' | 'nfqueue';

export interface TcprTopologyOptions {
  /** 'namespaces' (default): real app and peer namespaces; 'harness': test TUNs. */
  mode?: TcprTopologyMode;
  /** Transmit queue of the middlebox TUNs (the kernel's default of 500 overflows). */
  txqueuelen?: number;
  /** Build inside an existing lab (it is then not destroyed with the topology). */
  lab?: Lab;
  /** 'tun' (default) or 'nfqueue' (namespaces mode only). */
  interposition?: TcprInterposition;
}

const FAMILIES = [
  ['-4', 'v4'],
  ['-6', 'v6'],
] as const;

export class TcprTopology {
  private readonly pumps = new Set<Pump>();
  private destroyed = false;

  private constructor(
    readonly lab: Lab,
    private readonly ownsLab: boolean,
    readonly mode: TcprTopologyMode,
    readonly tcpr: LabNode,
    /** The protected application's namespace (namespaces mode). */
    readonly app: LabNode | undefined,
    /** The peer's namespace (namespaces mode). */
    readonly peer: LabNode | undefined,
    readonly interposition: TcprInterposition = 'tun',
  ) {}

  /** NFQUEUE mode: the queues and mark of the tcpr namespace's rules. */
  get nfqueue(): NfqueueEndpoint {
    if (this.interposition !== 'nfqueue') throw new Error('the topology uses TUN interposition');
    const N = TCPR_NFQUEUE;
    return { netns: this.tcpr.ns, appQueue: N.appQueue, peerQueue: N.peerQueue, mark: N.mark };
  }

  /** NFQUEUE mode: per rule of the chain, IPv4 and IPv6 summed, its packet counter. */
  async queueRuleCounters(): Promise<{ mark: number; app: number; peer: number }> {
    const out = { mark: 0, app: 0, peer: 0 };
    for (const cmd of ['iptables', 'ip6tables']) {
      const r = await this.exec(this.tcpr, cmd, ['-w', '-L', TCPR_NFQUEUE.chain, '-v', '-n', '-x']);
      const rows = r.stdout.split('\n').filter((l) => /^\s*\d+\s+\d+\s/.test(l));
      const n = (i: number): number => Number(rows[i]?.trim().split(/\s+/)[0] ?? NaN);
      out.mark += n(0);
      out.app += n(1);
      out.peer += n(2);
    }
    return out;
  }

  /** The middlebox's app-side TUN (persistent, in the tcpr namespace). */
  get appTun(): TunEndpoint {
    return { name: TCPR_IFNAMES.appTun, netns: this.tcpr.ns };
  }

  get peerTun(): TunEndpoint {
    return { name: TCPR_IFNAMES.peerTun, netns: this.tcpr.ns };
  }

  /** Harness mode: the TUN a test writes "the app's" packets to and reads its replies from. */
  get testAppTun(): TunEndpoint {
    this.needHarness();
    return { name: TCPR_IFNAMES.testAppTun, netns: this.tcpr.ns };
  }

  get testPeerTun(): TunEndpoint {
    this.needHarness();
    return { name: TCPR_IFNAMES.testPeerTun, netns: this.tcpr.ns };
  }

  readonly addresses = TCPR_ADDRESSES;

  static async build(opts: TcprTopologyOptions = {}): Promise<TcprTopology> {
    const mode = opts.mode ?? 'namespaces';
    const interposition = opts.interposition ?? 'tun';
    if (interposition === 'nfqueue' && mode !== 'namespaces') {
      throw new Error('TCPR topology: NFQUEUE interposition needs mode "namespaces"');
    }
    const lab = opts.lab ?? Lab.create();
    const ownsLab = opts.lab === undefined;
    try {
      const tcpr = await lab.node('tcpr');
      await middleboxSysctls(tcpr.ns);
      let app: LabNode | undefined;
      let peer: LabNode | undefined;
      const A = TCPR_ADDRESSES;
      if (mode === 'namespaces') {
        app = await lab.node('app', { router: false });
        peer = await lab.node('peer', { router: false });
        await lab.link(
          { node: app, ifname: 'nst-tcpr', addresses: [`${A.app.v4}/24`, `${A.app.v6}/64`] },
          {
            node: tcpr,
            ifname: TCPR_IFNAMES.appVeth,
            addresses: [`${A.tcprApp.v4}/24`, `${A.tcprApp.v6}/64`],
          },
        );
        await lab.link(
          { node: peer, ifname: 'nst-tcpr', addresses: [`${A.peer.v4}/24`, `${A.peer.v6}/64`] },
          {
            node: tcpr,
            ifname: TCPR_IFNAMES.peerVeth,
            addresses: [`${A.tcprPeer.v4}/24`, `${A.tcprPeer.v6}/64`],
          },
        );
        for (const [node, gw] of [
          [app, A.tcprApp],
          [peer, A.tcprPeer],
        ] as const) {
          for (const [flag, fam] of FAMILIES) {
            await ip(['-n', node.ns, flag, 'route', 'add', 'default', 'via', gw[fam]]);
          }
        }
        // Ready means reachable: a first neighbour solicitation sent while the links were
        // still coming up goes unanswered, and what the test starts at once (a BGP speaker's
        // first SYN) then waits a second for the retry.
        for (const [node, gw] of [
          [app, A.tcprApp],
          [peer, A.tcprPeer],
        ] as const) {
          for (const [flag, fam] of FAMILIES) {
            await waitFor(() => nsExec(node.ns, 'ping', [flag, '-c1', '-W1', '-q', gw[fam]]), {
              what: `${node.ns} to reach its gateway ${gw[fam]}`,
              until: (r) => r.code === 0,
              timeoutMs: 10_000,
              intervalMs: 50,
            });
          }
        }
      }
      if (interposition === 'nfqueue') {
        await nfqueueRouter(lab, tcpr);
        return new TcprTopology(lab, ownsLab, mode, tcpr, app, peer, interposition);
      }
      const txqueuelen = opts.txqueuelen ?? 10_000;
      const tuns: string[] = [TCPR_IFNAMES.appTun, TCPR_IFNAMES.peerTun];
      if (mode === 'harness') tuns.push(TCPR_IFNAMES.testAppTun, TCPR_IFNAMES.testPeerTun);
      // New devices act as IPv6 hosts (see addPersistentTun); set after the veths exist.
      await sysctl(tcpr.ns, { 'net.ipv6.conf.default.forwarding': 0 });
      for (const name of tuns) await addPersistentTun(tcpr.ns, name, txqueuelen);
      const fromApp = mode === 'namespaces' ? TCPR_IFNAMES.appVeth : TCPR_IFNAMES.testAppTun;
      const fromPeer = mode === 'namespaces' ? TCPR_IFNAMES.peerVeth : TCPR_IFNAMES.testPeerTun;
      const R = TCPR_ROUTING;
      await steer(tcpr.ns, fromApp, TCPR_IFNAMES.appTun, R.fromAppTable, R.fromAppPref);
      await steer(tcpr.ns, fromPeer, TCPR_IFNAMES.peerTun, R.fromPeerTable, R.fromPeerPref);
      if (mode === 'harness') {
        // Stand-ins for the connected routes the veths would give: by destination to the
        // test device playing that side.
        for (const [flag, fam] of FAMILIES) {
          const dev = (net: string, d: string): Promise<string> =>
            ip(['-n', tcpr.ns, flag, 'route', 'add', net, 'dev', d]);
          await dev(A.appNet[fam], TCPR_IFNAMES.testAppTun);
          await dev(A.peerNet[fam], TCPR_IFNAMES.testPeerTun);
        }
      }
      return new TcprTopology(lab, ownsLab, mode, tcpr, app, peer);
    } catch (e) {
      if (ownsLab) await lab.destroy().catch(() => undefined);
      throw e;
    }
  }

  /** Starts a packet pump on the middlebox TUNs or queues (stopped by destroy()). */
  async startPump(opts: Omit<PumpOptions, 'appTun' | 'peerTun' | 'nfqueue'> = {}): Promise<Pump> {
    if (this.destroyed) throw new Error('TCPR topology is destroyed');
    const pump = await startPump(
      this.interposition === 'nfqueue'
        ? { ...opts, nfqueue: this.nfqueue }
        : { ...opts, appTun: this.appTun, peerTun: this.peerTun },
    );
    this.pumps.add(pump);
    void pump.exited.then(() => this.pumps.delete(pump));
    return pump;
  }

  /** Runs a command to completion inside one of the topology's namespaces. */
  exec(node: LabNode, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return this.lab.exec(node, cmd, args, opts);
  }

  /** Starts a long-lived process (a daemon, a test server) inside a namespace. */
  spawn(
    node: LabNode,
    cmd: string,
    args: readonly string[],
    opts: { name: string; logFile?: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): ManagedProcess {
    return this.lab.spawn(node, cmd, args, opts);
  }

  /** Stops the pumps, then removes the namespaces (and with them veths and TUNs). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.pumps].map((p) => p.stop()));
    if (this.interposition === 'nfqueue' && !this.ownsLab) {
      // Our namespace would take them along, but a lab we do not own may outlive us: the
      // rules, and the channel device (its routes go with it).
      const C = TCPR_NFQUEUE.chain;
      for (const cmd of ['iptables', 'ip6tables']) {
        for (const args of [
          ['-D', 'FORWARD', '-j', C],
          ['-F', C],
          ['-X', C],
        ]) {
          await this.exec(this.tcpr, cmd, ['-w', ...args]).catch(() => undefined);
        }
      }
      await ip(['-n', this.tcpr.ns, 'link', 'del', TCPR_IFNAMES.channel]).catch(() => undefined);
    }
    if (this.ownsLab) await this.lab.destroy();
  }

  private needHarness(): void {
    if (this.mode !== 'harness') throw new Error('test TUNs exist in harness mode only');
  }
}

async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await nsExecChecked(ns, 'sysctl', ['-q', '-w', ...args]);
}

/**
 * A router that forwards between a veth and a TUN sees every packet arrive on the "wrong"
 * interface for its source: reverse-path filtering off. No redirects (it must never talk
 * to the app or peer on its own). Set before any interface exists so they inherit it.
 */
async function middleboxSysctls(ns: string): Promise<void> {
  await sysctl(ns, {
    'net.ipv4.ip_forward': 1,
    'net.ipv6.conf.all.forwarding': 1,
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.default.rp_filter': 0,
    'net.ipv4.conf.all.send_redirects': 0,
    'net.ipv4.conf.default.send_redirects': 0,
  });
}

/**
 * A persistent TUN, up, with a long transmit queue, and silent, else the namespace's own
 * packets would reach the pump: no IPv6 link-local address (no router solicitations), no
 * multicast, and IPv6 host behaviour on the device itself from its creation on (so it never
 * joins the all-routers group and sends no MLD report). Forwarding through it is decided
 * by `all.forwarding`, which stays on.
 */
async function addPersistentTun(ns: string, name: string, txqueuelen: number): Promise<void> {
  createPersistentTun({ name, netns: ns });
  await ip(['-n', ns, 'link', 'set', 'dev', name, 'addrgenmode', 'none']);
  await sysctl(ns, {
    [`net.ipv4.conf.${name}.rp_filter`]: 0,
    [`net.ipv6.conf.${name}.forwarding`]: 0,
  });
  await ip([
    '-n',
    ns,
    'link',
    'set',
    'dev',
    name,
    'txqueuelen',
    String(txqueuelen),
    'multicast',
    'off',
    'up',
  ]);
}

/**
 * NFQUEUE mode: the tcpr namespace forwards by destination (main table, connected routes),
 * and its forward hook hands every packet from either veth to the pump's queues.
 */
async function nfqueueRouter(lab: Lab, tcpr: LabNode): Promise<void> {
  const ns = tcpr.ns;
  const I = TCPR_IFNAMES;
  const N = TCPR_NFQUEUE;
  const A = TCPR_ADDRESSES;
  // The side channel: forwarded (so queued from the app veth), never delivered locally and
  // never unreachable (an ICMP error would be the kernel answering the app).
  await ip(['-n', ns, 'link', 'add', I.channel, 'type', 'ifb']);
  await ip(['-n', ns, 'link', 'set', 'dev', I.channel, 'addrgenmode', 'none']);
  await ip(['-n', ns, 'link', 'set', 'dev', I.channel, 'up']);
  await ip(['-n', ns, '-4', 'route', 'add', `${A.sideChannel.v4}/32`, 'dev', I.channel]);
  await ip(['-n', ns, '-6', 'route', 'add', `${A.sideChannel.v6}/128`, 'dev', I.channel]);
  const rules = nfqueueRules({
    chain: N.chain,
    appIf: I.appVeth,
    peerIf: I.peerVeth,
    appQueue: N.appQueue,
    peerQueue: N.peerQueue,
    mark: N.mark,
  });
  for (const cmd of ['iptables-restore', 'ip6tables-restore']) {
    const r = await lab
      .exec(tcpr, cmd, ['-w', '--noflush'], { input: rules })
      .catch((e: Error) => ({
        code: -1,
        stdout: '',
        stderr: e.message,
      }));
    if (r.code !== 0) {
      throw new Error(
        `TCPR topology: ${cmd} failed in ${ns} (is iptables installed? scripts/setup.sh installs it): ${(r.stderr || r.stdout).trim()}\n${rules}`,
      );
    }
  }
}

/**
 * The NFQUEUE rules as iptables-restore input (the same for IPv4 and IPv6): in the filter
 * table's FORWARD chain, the pump's own packets pass; what comes in on the app's interface
 * goes to `appQueue`, on the peers' to `peerQueue`, without --queue-bypass (fail closed).
 */
export function nfqueueRules(o: {
  chain: string;
  appIf: string;
  peerIf: string;
  appQueue: number;
  peerQueue: number;
  mark: number;
}): string {
  // Mark 0 would be `--mark 0x0 -j ACCEPT`: every unmarked packet skips the queues.
  checkInjectionMark(o.mark);
  return [
    '*filter',
    `:${o.chain} - [0:0]`,
    `-A FORWARD -j ${o.chain}`,
    `-A ${o.chain} -m mark --mark 0x${o.mark.toString(16)} -j ACCEPT`,
    `-A ${o.chain} -i ${o.appIf} -j NFQUEUE --queue-num ${o.appQueue}`,
    `-A ${o.chain} -i ${o.peerIf} -j NFQUEUE --queue-num ${o.peerQueue}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** Packets arriving on `iif` go to `tun`; without it (or it detached), nowhere. */
async function steer(
  ns: string,
  iif: string,
  tun: string,
  table: number,
  pref: number,
): Promise<void> {
  await sysctl(ns, { [`net.ipv4.conf.${iif}.rp_filter`]: 0 });
  for (const [flag] of FAMILIES) {
    const t = String(table);
    await ip(['-n', ns, flag, 'route', 'add', 'default', 'dev', tun, 'table', t]);
    // Reached only if the device route is gone (device deleted): still never fall through.
    await ip([
      '-n',
      ns,
      flag,
      'route',
      'add',
      'blackhole',
      'default',
      'table',
      t,
      'metric',
      '4294967295',
    ]);
    await ip(['-n', ns, flag, 'rule', 'add', 'pref', String(pref), 'iif', iif, 'lookup', t]);
    await ip(['-n', ns, flag, 'rule', 'add', 'pref', String(pref + 1), 'iif', iif, 'blackhole']);
  }
}

/** A test-owned TUN of the harness: write crafted packets in, read what comes out. */
export class HarnessTun {
  private readonly buf = new Uint8Array(65536);

  private constructor(private readonly dev: TunDevice) {}

  /** Attaches to a harness device (`topology.testAppTun` / `testPeerTun`). */
  static open(ep: TunEndpoint): HarnessTun {
    const dev = TunDevice.open({ name: ep.name, netns: ep.netns, create: false });
    // Packets routed out of it are dropped until the kernel activates its queue.
    if (!dev.waitRunning()) {
      dev.close();
      throw new Error(`harness TUN ${ep.name} did not come up (network namespace ${ep.netns})`);
    }
    return new HarnessTun(dev);
  }

  get name(): string {
    return this.dev.name;
  }

  /** Injects one IP packet as if it arrived from that side. */
  write(packet: Uint8Array): void {
    this.dev.writePacket(packet);
  }

  /**
   * The next packet routed out of this device (a copy), or undefined after `timeoutMs`.
   * Polls without blocking the event loop, so the caller's other work goes on.
   */
  async read(timeoutMs = 1000): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = this.dev.readPacket(this.buf, 0);
      if (n > 0) return this.buf.slice(0, n);
      if (Date.now() >= deadline) return undefined;
      await sleep(1);
    }
  }

  /** Discards whatever is queued; returns how many packets that was. */
  drain(): number {
    let n = 0;
    while (this.dev.readPacket(this.buf, 0) > 0) n++;
    return n;
  }

  close(): void {
    this.dev.close();
  }
}

/**
 * What a packet looks like after crossing the tcpr namespace through a pass-through pump:
 * forwarded twice (into the TUN, out of it), so TTL / hop limit is `hops` lower and the
 * IPv4 header checksum is recomputed. Everything else is unchanged.
 */
export function forwardedCopy(packet: Uint8Array, hops = 2): Uint8Array {
  const p = packet.slice();
  const version = p[0]! >> 4;
  if (version === 6) {
    p[7] = p[7]! - hops;
  } else if (version === 4) {
    p[8] = p[8]! - hops;
    p[10] = 0;
    p[11] = 0;
    const sum = ipv4HeaderChecksum(p.subarray(0, (p[0]! & 0x0f) * 4));
    p[10] = sum >> 8;
    p[11] = sum & 0xff;
  }
  return p;
}

/** RFC 791 header checksum (ones' complement sum of 16-bit words; field zeroed). */
export function ipv4HeaderChecksum(header: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < header.length; i += 2) s += (header[i]! << 8) | header[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

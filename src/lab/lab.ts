// A Lab owns everything it creates for a topology — namespaces (and with them their veth
// links), processes, daemons and a temp directory — and `destroy()` removes all of it.
// Live labs are also torn down (synchronously) when the process exits or gets SIGINT/SIGTERM.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addrAdd,
  checkIfName,
  ipJson,
  linkSetUp,
  MAX_IFNAME,
  netnsAdd,
  netnsDelete,
  nsExec,
  vethAdd,
} from '../net/netns.js';
import {
  spawnLogged,
  type ManagedProcess,
  type RunOptions,
  type RunResult,
} from '../net/process.js';
import { daemonFactory } from './daemons/index.js';
import type { Daemon, DaemonSpec, Family } from './daemons/types.js';
import { checkNodeName, LAB_PREFIX, newLabId } from './names.js';

export interface LabNode {
  /** Short name given by the caller ("r1"). */
  name: string;
  /** Network namespace name (`nst-<lab id>-<name>`). */
  ns: string;
}

export interface LinkEndSpec {
  node: LabNode;
  /** Interface name inside the node (≤ 15 chars); default `nst-<peer node>`. */
  ifname?: string;
  /** Lab addresses with prefix length: 198.18.0.0/15 or 2001:db8::/32. */
  addresses?: string[];
}

export interface LinkEnd {
  node: LabNode;
  ifname: string;
  addresses: string[];
}

export interface LabLink {
  a: LinkEnd;
  b: LinkEnd;
}

export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

const live = new Set<Lab>();
let handlersInstalled = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const lab of live) if (!lab.ownSignals) lab.destroySync();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  // Die of the signal as we would have without this handler (unless someone else handles it).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

let pingAvailable: boolean | undefined;

// Reachability without ping: a TCP SYN to a closed port is answered with a RST by the
// target's kernel, so ECONNREFUSED proves a round trip.
const TCP_PROBE = `
const s = require('node:net').connect({ host: process.argv[1], port: 9 });
const done = (ok) => { s.destroy(); process.exit(ok ? 0 : 1); };
s.on('connect', () => done(true));
s.on('error', (e) => done(e.code === 'ECONNREFUSED'));
setTimeout(() => done(false), Number(process.argv[2]));
`;

export class Lab {
  readonly prefix: string;
  private readonly nodes = new Map<string, LabNode>();
  private readonly procs: ManagedProcess[] = [];
  private readonly daemons: Daemon[] = [];
  private readonly ifnames = new Map<string, Set<string>>();
  private destroyed = false;

  private constructor(
    readonly id: string,
    readonly dir: string,
    /** The owner handles SIGINT/SIGTERM (and calls destroy()); still destroyed on exit. */
    readonly ownSignals: boolean,
  ) {
    this.prefix = `${LAB_PREFIX}${id}-`;
  }

  /**
   * A new, empty lab with its own temp directory (`$TMPDIR/nst-<id>-XXXXXX`). `signals:
   * false`: SIGINT/SIGTERM do not tear it down at once (its owner shuts down cleanly and
   * calls destroy()); process exit still does.
   */
  static create(opts: { signals?: boolean } = {}): Lab {
    const id = newLabId();
    const dir = mkdtempSync(join(tmpdir(), `${LAB_PREFIX}${id}-`));
    // Daemons that drop privileges (FRR runs as `frr`) must reach their own subdirectory.
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
    const lab = new Lab(id, dir, opts.signals === false);
    live.add(lab);
    installHandlers();
    return lab;
  }

  private check(): void {
    if (this.destroyed) throw new Error(`lab ${this.id} is already destroyed`);
  }

  /** Creates a node: a namespace with `lo` up, forwarding on and IPv6 DAD off (by default). */
  async node(name: string, opts: { dad?: boolean; router?: boolean } = {}): Promise<LabNode> {
    this.check();
    checkNodeName(name);
    if (this.nodes.has(name)) throw new Error(`lab node "${name}" already exists`);
    const node = { name, ns: `${this.prefix}${name}` };
    // Recorded before creation, so a half-made namespace is still destroyed.
    this.nodes.set(name, node);
    this.ifnames.set(node.ns, new Set());
    await netnsAdd(node.ns, opts);
    return node;
  }

  private pickIfname(node: LabNode, peer: LabNode, wanted?: string): string {
    const used = this.ifnames.get(node.ns);
    if (!used) throw new Error(`node "${node.name}" does not belong to lab ${this.id}`);
    let name = wanted ?? `nst-${peer.name}`.slice(0, MAX_IFNAME);
    for (let i = 2; wanted === undefined && used.has(name); i++) {
      name = `nst-${peer.name}`.slice(0, MAX_IFNAME - String(i).length) + String(i);
    }
    if (used.has(checkIfName(name))) {
      throw new Error(`interface ${name} already exists in node ${node.name}`);
    }
    used.add(name);
    return name;
  }

  /** Joins two nodes with a veth pair, adds the addresses and brings both ends up. */
  async link(a: LinkEndSpec, b: LinkEndSpec): Promise<LabLink> {
    this.check();
    const ends = [
      {
        node: a.node,
        ifname: this.pickIfname(a.node, b.node, a.ifname),
        addresses: a.addresses ?? [],
      },
      {
        node: b.node,
        ifname: this.pickIfname(b.node, a.node, b.ifname),
        addresses: b.addresses ?? [],
      },
    ] as const;
    await vethAdd(
      { ns: ends[0].node.ns, ifname: ends[0].ifname },
      { ns: ends[1].node.ns, ifname: ends[1].ifname },
    );
    for (const e of ends) {
      for (const cidr of e.addresses) await addrAdd(e.node.ns, e.ifname, cidr);
      await linkSetUp(e.node.ns, e.ifname);
    }
    return { a: ends[0], b: ends[1] };
  }

  /** Starts a long-lived process inside a node; the lab kills it on destroy. */
  spawn(
    node: LabNode,
    cmd: string,
    args: readonly string[],
    opts: { name: string; logFile?: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): ManagedProcess {
    this.check();
    const p = spawnLogged('ip', ['netns', 'exec', node.ns, cmd, ...args], {
      name: opts.name,
      logFile: opts.logFile ?? join(this.dir, `${opts.name}.log`),
      env: opts.env,
      cwd: opts.cwd,
    });
    this.procs.push(p);
    return p;
  }

  /** Runs a command inside a node and collects its output. */
  exec(node: LabNode, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return nsExec(node.ns, cmd, args, opts);
  }

  /** Creates (but does not start) a daemon of a registered kind inside `spec.ns`. */
  daemon(kind: string, spec: DaemonSpec): Daemon {
    this.check();
    const node = [...this.nodes.values()].find((n) => n.ns === spec.ns);
    if (!node)
      throw new Error(`daemon "${spec.name}": namespace ${spec.ns} is not a node of this lab`);
    if (
      !/^[a-z][a-z0-9_-]{0,30}$/.test(spec.name) ||
      this.daemons.some((d) => d.spec.name === spec.name)
    ) {
      throw new Error(`daemon name "${spec.name}" is invalid or already used in this lab`);
    }
    const dir = join(this.dir, spec.name);
    mkdirSync(dir, { recursive: true });
    const d = daemonFactory(kind)(spec, {
      dir,
      ns: spec.ns,
      spawn: (cmd, args, o) =>
        this.spawn(node, cmd, args, { ...o, logFile: join(dir, `${o.name}.log`) }),
      exec: (cmd, args, o) => nsExec(spec.ns, cmd, args, o),
    });
    this.daemons.push(d);
    return d;
  }

  /** `daemon()` then `start()`. */
  async startDaemon(kind: string, spec: DaemonSpec): Promise<Daemon> {
    const d = this.daemon(kind, spec);
    await d.start();
    return d;
  }

  /**
   * Can `from` reach `address` within `timeoutMs`? Probes are repeated until the deadline,
   * like `ping -w`: the first neighbour solicitation on a fresh link is often lost.
   */
  async reachable(from: LabNode, address: string, timeoutMs = 3000): Promise<boolean> {
    pingAvailable ??= spawnSync('sh', ['-c', 'command -v ping']).status === 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tryMs = Math.max(200, Math.min(1000, deadline - Date.now()));
      const r = pingAvailable
        ? await this.exec(from, 'ping', [
            '-n',
            '-c',
            '1',
            '-W',
            String(Math.ceil(tryMs / 1000)),
            address,
          ])
        : await this.exec(from, process.execPath, ['-e', TCP_PROBE, address, String(tryMs)]);
      if (r.code === 0) return true;
      if (Date.now() >= deadline) return false;
    }
  }

  /** The node's kernel routing table (main table) for one family. */
  async kernelRoutes(node: LabNode, family: Family): Promise<KernelRoute[]> {
    return ipJson<KernelRoute[]>(node.ns, [family === 'ipv4' ? '-4' : '-6', 'route', 'show']);
  }

  /** Stops daemons gracefully, kills what is left, deletes namespaces and the temp dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const errors: unknown[] = [];
    await Promise.all(this.daemons.map((d) => d.stop().catch((e: unknown) => errors.push(e))));
    await Promise.all(this.procs.map((p) => p.stop(1000)));
    for (const n of this.nodes.values())
      await netnsDelete(n.ns).catch((e: unknown) => errors.push(e));
    for (const d of this.daemons) d.removeLeftovers?.();
    if (process.env.NONSTOP_LAB_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.id}: destroy had errors`);
  }

  /** Synchronous last-resort teardown (exit and signal handlers): SIGKILL everything. */
  destroySync(): void {
    this.destroyed = true;
    live.delete(this);
    for (const p of this.procs) p.kill('SIGKILL');
    for (const n of this.nodes.values()) {
      const pids = spawnSync('ip', ['netns', 'pids', n.ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids
        .split('\n')
        .map(Number)
        .filter((x) => x > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      spawnSync('ip', ['netns', 'delete', n.ns]);
    }
    for (const d of this.daemons) d.removeLeftovers?.();
    if (process.env.NONSTOP_LAB_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

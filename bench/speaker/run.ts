// One measured run: a fresh lab (injector, DUT and monitor namespaces), the DUT with its
// config, the monitor and the injector as child processes, "go", and the figures. The lab
// removes namespaces and daemons on the way out, on errors and on signals too; the two
// child processes are ours and are killed here (and by the lab's exit handler, which kills
// everything left in its namespaces).

import { join } from 'node:path';
import { pidAlive } from '../../src/net/process.js';
import { Lab, type DaemonSpec, type NeighborSpec } from '../../src/lab/index.js';
import { startChild, waitEvent, type Child } from './child.js';
import { namespacePids, sample } from './proc.js';
import { monoMs as monoNow } from './session.js';
import { ADDR, type Workload } from './workloads.js';

export type DutKind = 'nonstop' | 'bird' | 'gobgp' | 'frr';

export interface RunResult {
  workload: string;
  dut: DutKind;
  fib: boolean;
  round: number;
  ok: boolean;
  error?: string;
  /** First UPDATE octet written by the injector → last expected prefix at the monitor. */
  ms?: number;
  /** CPU seconds of the DUT's processes during that interval. */
  cpuS?: number;
  /** Peak RSS (VmHWM) of the DUT's processes, KiB, summed. */
  peakRssKiB?: number;
  /** RSS once every session was up, before the first UPDATE. */
  idleRssKiB?: number;
  updatesPerS?: number;
  prefixesPerS?: number;
  /** What the monitor counted. */
  announced?: number;
  processes?: string[];
  /** UPDATEs the DUT sent to the (receive-only) injector sessions; should be 0. */
  updatesToInjectors?: number;
  /** Kernel FIB runs: routes in the DUT namespace's main table when the monitor was done. */
  kernelRoutes?: number;
  /** Kernel FIB runs: first UPDATE → the whole table in the kernel (polled every ~1 s). */
  kernelCompleteMs?: number;
}

const HOLD = 240;
const here = import.meta.dirname;

export interface RunOptions {
  workload: Workload;
  /** Stream files, one per injector session (same order as workload.streams). */
  files: string[];
  dut: DutKind;
  fib: boolean;
  round: number;
  timeoutMs: number;
  /** Directory for a V8 CPU profile of the DUT (nonstop only). */
  cpuProfDir?: string;
  progress: (announced: number, elapsedS: number) => void;
}

function injectorAddress(w: Workload, i: number): string {
  return w.streams[i]!.family === 'ipv4' ? ADDR.inj4(i) : ADDR.inj6(i);
}

export function dutSpec(o: RunOptions, ns: string): DaemonSpec {
  const w = o.workload;
  const fams = new Set(w.streams.map((s) => s.family));
  const neighbors: NeighborSpec[] = w.streams.map((s, i) => ({
    address: injectorAddress(w, i),
    asn: s.asn,
    passive: true,
    receiveOnly: true,
    holdTime: HOLD,
    families: [s.family],
  }));
  for (const f of fams) {
    neighbors.push({
      address: f === 'ipv4' ? ADDR.mon4 : ADDR.mon6,
      asn: ADDR.monAsn,
      passive: true,
      holdTime: HOLD,
      families: [f],
    });
  }
  return {
    name: 'dut',
    ns,
    routerId: ADDR.dut4,
    asn: ADDR.dutAsn,
    neighbors,
    kernelFib: o.fib,
    memoryFib: false,
    // Like BIRD's `log stderr all` without `debug protocols`: no per-event debug lines.
    logLevel: 'info',
  };
}

export async function runOnce(o: RunOptions): Promise<RunResult> {
  const w = o.workload;
  const base: RunResult = { workload: w.id, dut: o.dut, fib: o.fib, round: o.round, ok: false };
  const lab = Lab.create();
  let inj: Child | undefined;
  let mon: Child | undefined;
  try {
    const [ni, nd, nm] = [await lab.node('inj'), await lab.node('dut'), await lab.node('mon')];
    const injAddrs = w.streams.map((s, i) =>
      s.family === 'ipv4' ? `${ADDR.inj4(i)}/24` : `${ADDR.inj6(i)}/64`,
    );
    await lab.link(
      { node: ni, addresses: injAddrs },
      { node: nd, addresses: [`${ADDR.dut4}/24`, `${ADDR.dut6}/64`] },
    );
    await lab.link(
      { node: nd, addresses: [`${ADDR.dutMon4}/24`, `${ADDR.dutMon6}/64`] },
      { node: nm, addresses: [`${ADDR.mon4}/24`, `${ADDR.mon6}/64`] },
    );
    const spec = dutSpec(o, nd.ns);
    if (o.cpuProfDir) spec.nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`];
    const dut = lab.daemon(o.dut, spec);
    await dut.start();
    const procs = namespacePids(nd.ns);
    const dutDead = (): string | undefined =>
      dut.running() ? undefined : `${o.dut} died:\n${dut.logs().slice(-2000)}`;

    const fams = [...new Set(w.streams.map((s) => s.family))];
    mon = startChild(
      nm.ns,
      join(here, 'monitor.js'),
      {
        holdTime: HOLD,
        sessions: fams.map((f) => ({
          local: f === 'ipv4' ? ADDR.mon4 : ADDR.mon6,
          remote: f === 'ipv4' ? ADDR.dutMon4 : ADDR.dutMon6,
          family: f,
          asn: ADDR.monAsn,
          bgpId: '198.19.0.2',
        })),
        expect: w.expectPrefixes,
        sentinels: w.sentinels,
      },
      lab.dir,
      'monitor',
    );
    await waitEvent(mon, 'established', 90_000, 'monitor', dutDead);
    inj = startChild(
      ni.ns,
      join(here, 'injector.js'),
      {
        holdTime: HOLD,
        dut4: ADDR.dut4,
        dut6: ADDR.dut6,
        sessions: w.streams.map((s, i) => ({
          local: injectorAddress(w, i),
          family: s.family,
          asn: s.asn,
          bgpId: `10.${(i >> 8) & 0xff}.${i & 0xff}.1`,
          file: o.files[i],
        })),
      },
      lab.dir,
      'injector',
    );
    await waitEvent(inj, 'established', 120_000, 'injector', dutDead);
    // Let the DUT settle (initial End-of-RIBs, timers) before the clock starts.
    await new Promise((r) => setTimeout(r, 1000));
    const before = sample(procs);
    inj.proc.stdin!.write('go\n');
    const started = await waitEvent(inj, 'started', 10_000, 'injector');
    const t0 = Number(started.t0);
    const wall0 = Date.now();
    const progress = setInterval(() => {
      const last = [...mon!.events].reverse().find((e) => e.event === 'progress');
      o.progress(Number(last?.announced ?? 0), (Date.now() - wall0) / 1000);
    }, 2000);
    let complete: Record<string, unknown>;
    try {
      complete = await waitEvent(mon, 'complete', o.timeoutMs, 'monitor', () => {
        const err = inj!.events.find((e) => e.event === 'error' || e.event === 'exit');
        return dutDead() ?? (err ? `injector: ${String(err.why)}` : undefined);
      });
    } finally {
      clearInterval(progress);
    }
    const after = sample(procs);
    const ms = Number(complete.t) - t0;
    // With kernel FIB: how much of the table is in the kernel when the monitor is done
    // (installing may lag behind re-advertising).
    const countKernel = async (): Promise<number> => {
      let n = 0;
      for (const v of ['-4', '-6']) {
        const r = await lab.exec(nd, 'sh', ['-c', `ip ${v} route show table main | wc -l`]);
        n += Number(r.stdout.trim()) || 0;
      }
      return n;
    };
    let kernelRoutes: number | undefined;
    let kernelCompleteMs: number | undefined;
    if (o.fib) {
      kernelRoutes = await countKernel();
      // Then wait (up to 120 s) for the whole table, counting connected routes too.
      const want = w.expectPrefixes;
      const deadline = Date.now() + 120_000;
      let n = kernelRoutes;
      while (want !== undefined && n < want && Date.now() < deadline && dut.running()) {
        await new Promise((r) => setTimeout(r, 1000));
        n = await countKernel();
        if (n >= want) kernelCompleteMs = monoNow() - t0;
      }
      if (want !== undefined && kernelRoutes >= want) kernelCompleteMs = ms;
    }
    inj.proc.stdin!.write('count\n');
    const counted = await waitEvent(inj, 'count', 10_000, 'injector');
    const leaked = Number(counted.received);
    if (leaked > 0) {
      process.stderr.write(
        `${o.dut}: ${leaked} UPDATEs to receive-only injector sessions (${String(counted.announced)} announcing): ` +
          `${JSON.stringify(counted.perSession)}\n`,
      );
    }
    const messages = w.streams.reduce((s, x) => s + x.messages, 0);
    const prefixes = w.streams.reduce((s, x) => s + x.prefixes, 0);
    const result: RunResult = {
      ...base,
      ok: true,
      ms,
      cpuS: after.cpuS - before.cpuS,
      peakRssKiB: after.hwmKiB,
      idleRssKiB: before.rssKiB,
      updatesPerS: messages / (ms / 1000),
      prefixesPerS: prefixes / (ms / 1000),
      announced: Number(complete.announced),
      processes: procs.map((p) => p.comm),
      updatesToInjectors: leaked,
      kernelRoutes,
      kernelCompleteMs,
    };
    if (o.cpuProfDir) {
      // SIGTERM and wait: the profile is written when the process exits on its own.
      for (const p of procs) process.kill(p.pid, 'SIGTERM');
      const deadline = Date.now() + 60_000;
      while (procs.some((p) => pidAlive(p.pid)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return result;
  } catch (e) {
    return { ...base, error: e instanceof Error ? e.message.slice(0, 3000) : String(e) };
  } finally {
    for (const c of [inj, mon]) c?.proc.kill('SIGKILL');
    await lab.destroy().catch(() => {});
  }
}

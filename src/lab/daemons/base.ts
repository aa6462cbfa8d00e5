// What every process-based adapter shares: its processes, their logs, a readiness wait that
// gives up at once when a process dies, and the set of routes it currently originates.

import { mkdirSync } from 'node:fs';
import type { ManagedProcess } from '../../net/process.js';
import { WaitAbortError, waitFor } from '../../net/wait.js';
import type {
  Daemon,
  DaemonHost,
  DaemonSpec,
  Family,
  NeighborView,
  RouteSpec,
  RouteView,
} from './types.js';

export abstract class ProcessDaemon implements Daemon {
  protected procs: ManagedProcess[] = [];
  /** Routes originated now, by prefix (the spec's, then announce/withdraw). */
  protected readonly originated = new Map<string, RouteSpec>();

  constructor(
    readonly kind: string,
    readonly spec: DaemonSpec,
    protected readonly host: DaemonHost,
  ) {
    mkdirSync(host.dir, { recursive: true });
    for (const r of spec.originate ?? []) this.originated.set(r.prefix, r);
  }

  get dir(): string {
    return this.host.dir;
  }

  abstract start(): Promise<void>;
  abstract routes(family: Family): Promise<RouteView[]>;
  abstract neighbors(): Promise<NeighborView[]>;
  abstract announce(route: RouteSpec): Promise<void>;
  abstract withdraw(prefix: string): Promise<void>;

  protected launch(
    cmd: string,
    args: readonly string[],
    opts: { name: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): ManagedProcess {
    // A restart (after kill or stop) replaces the dead processes; their logs stay in the
    // files, which are appended to.
    this.procs = this.procs.filter((q) => q.running());
    const p = this.host.spawn(cmd, args, opts);
    this.procs.push(p);
    return p;
  }

  processes(): readonly ManagedProcess[] {
    return this.procs;
  }

  running(): boolean {
    return this.procs.length > 0 && this.procs.every((p) => p.running());
  }

  async stop(): Promise<void> {
    // Reverse start order: bgpd before zebra, the API helper after ExaBGP.
    for (const p of [...this.procs].reverse()) await p.stop();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const p of this.procs) p.kill(signal);
  }

  logs(): string {
    return this.procs.map((p) => `==> ${p.name} (${p.logFile}) <==\n${p.logTail(1e9)}`).join('\n');
  }

  protected logTail(maxChars = 2500): string {
    return this.procs
      .map((p) => {
        const exit = p.exitInfo();
        const state = exit ? `exited, code ${exit.code}, signal ${exit.signal}` : 'running';
        return `--- ${p.name} (${state}) ${p.command}\n${p.logTail(maxChars)}`;
      })
      .join('\n');
  }

  /** Throws a WaitAbortError, with the log tail, if any of our processes has exited. */
  protected checkAlive(): void {
    const dead = this.procs.find((p) => !p.running());
    if (dead) {
      throw new WaitAbortError(
        `${this.kind} "${this.spec.name}": ${dead.name} exited while starting\n${this.logTail()}`,
      );
    }
  }

  /** Polls `probe` until it returns true; fails fast if a process dies, with its log tail. */
  protected async waitReady(
    what: string,
    probe: () => Promise<boolean>,
    timeoutMs = 15_000,
  ): Promise<void> {
    await waitFor(
      async () => {
        this.checkAlive();
        return probe();
      },
      {
        what: `${this.kind} "${this.spec.name}" ${what}`,
        timeoutMs,
        intervalMs: 100,
        context: () => this.logTail(),
      },
    );
  }
}

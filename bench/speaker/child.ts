// Child processes of the benchmarks (bench/speaker.ts, bench/btr.ts): a Node script run in
// a lab namespace (`ip netns exec`), configured by a JSON file, reporting JSON lines on
// stdout (see session.ts `report`). Every child is SIGKILLed when the harness exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Child {
  proc: ChildProcess;
  events: Record<string, unknown>[];
  waiters: ((e: Record<string, unknown>) => void)[];
  stderr: string;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts `script` (a path) in namespace `ns` with `cfg` written to `dir`/`name`.json. */
export function startChild(
  ns: string,
  script: string,
  cfg: unknown,
  dir: string,
  name: string,
): Child {
  const cfgPath = join(dir, `${name}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const proc = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--max-old-space-size=4096', script, cfgPath],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  children.add(proc);
  const c: Child = { proc, events: [], waiters: [], stderr: '' };
  proc.stderr!.on('data', (d: Buffer) => (c.stderr = (c.stderr + d.toString()).slice(-4000)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    c.events.push(e);
    for (const w of c.waiters) w(e);
  });
  proc.on('exit', (code) => {
    children.delete(proc);
    const e = { event: 'exit', code, why: `${name} exited (${code}): ${c.stderr.trim()}` };
    c.events.push(e);
    for (const w of c.waiters) w(e);
  });
  return c;
}

/** Resolves with the first event named `name`; rejects on error/exit events or timeout. */
export function waitEvent(
  c: Child,
  name: string,
  timeoutMs: number,
  who: string,
  check?: () => string | undefined,
  match?: (e: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const done = (f: () => void): void => {
      clearTimeout(timer);
      clearInterval(poll);
      c.waiters = c.waiters.filter((w) => w !== on);
      f();
    };
    const on = (e: Record<string, unknown>): void => {
      if (e.event === name && (!match || match(e))) done(() => resolve(e));
      else if (e.event === 'error' || e.event === 'exit')
        done(() => reject(new Error(`${who}: ${String(e.why)}`)));
    };
    const timer = setTimeout(
      () =>
        done(() =>
          reject(new Error(`${who}: no "${name}" within ${Math.round(timeoutMs / 1000)} s`)),
        ),
      timeoutMs,
    );
    const poll = setInterval(() => {
      const why = check?.();
      if (why) done(() => reject(new Error(why)));
    }, 500);
    c.waiters.push(on);
    for (const e of c.events) on(e);
  });
}

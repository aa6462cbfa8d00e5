// Child processes for the lab: short commands whose output we want (`run`), and long-lived
// daemons whose output goes to a log file and who must be stoppable (`spawnLogged`).

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/** Thrown by `runChecked` when a command fails; carries what it printed. */
export class CommandError extends Error {
  readonly code = 'ERR_LAB_COMMAND';
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const why = result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`;
    const out = (result.stderr.trim() || result.stdout.trim()).slice(-2000);
    super(`command failed (${why}): ${command}${out ? `\n${out}` : ''}`);
    this.name = 'CommandError';
  }
}

export function quoteCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs a command to completion and collects its output; never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${quoteCommand(cmd, args)}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command and throws a CommandError (with its output) unless it exits with 0. */
export async function runChecked(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 15_000, ...opts });
  if (r.code !== 0) throw new CommandError(quoteCommand(cmd, args), r);
  return r.stdout;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-lived child whose stdout and stderr go to a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly logFile: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  running(): boolean;
  exitInfo(): ExitInfo | undefined;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** The last `maxChars` characters of the log file. */
  logTail(maxChars?: number): string;
}

export interface SpawnOptions {
  name: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function spawnLogged(
  cmd: string,
  args: readonly string[],
  opts: SpawnOptions,
): ManagedProcess {
  // The log file descriptor is handed to the child, so its output survives us and a dead
  // reader never makes it block or die of SIGPIPE.
  const fd = openSync(opts.logFile, 'a');
  let child;
  try {
    child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const command = quoteCommand(cmd, args);
  let exit: ExitInfo | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('error', (e) => {
      spawnError = e;
      exit = { code: -1, signal: null };
      resolve(exit);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const pid = child.pid ?? -1;
  const proc: ManagedProcess = {
    name: opts.name,
    pid,
    command,
    logFile: opts.logFile,
    exited,
    running: () => exit === undefined,
    exitInfo: () => exit,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (exit === undefined) child.kill(signal);
    },
    async stop(graceMs = 3000) {
      if (exit !== undefined) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    logTail(maxChars = 3000) {
      const text = existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8') : '';
      const tail = text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
      return spawnError ? `${tail}\n(spawn error: ${spawnError.message})` : tail;
    },
  };
  return proc;
}

/** Does a process with this id exist and run (a zombie, killed but not reaped, does not)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

// The shape of a CLI command module, registered by name in cli/main.ts.

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Runs the command; returns the process exit code. */
  run(args: string[]): Promise<number>;
}

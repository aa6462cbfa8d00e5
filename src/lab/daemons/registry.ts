// Adapters registered by name ("bird", "bird1", "frr", "gobgp", "exabgp", "nonstop").

import type { DaemonFactory } from './types.js';

const factories = new Map<string, DaemonFactory>();

export function registerDaemon(kind: string, factory: DaemonFactory): void {
  if (factories.has(kind)) throw new Error(`daemon kind "${kind}" is already registered`);
  factories.set(kind, factory);
}

export function daemonFactory(kind: string): DaemonFactory {
  const f = factories.get(kind);
  if (!f) {
    throw new Error(`unknown daemon kind "${kind}"; known: ${[...factories.keys()].join(', ')}`);
  }
  return f;
}

export const daemonKinds = (): string[] => [...factories.keys()];

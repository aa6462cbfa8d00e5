// An in-memory FIB with longest-prefix match (RFC 1812 §5.2.4.3), IPv4 and IPv6: for tests,
// for the lab, and for bug-tolerant-router replicas whose FIB is observed, not installed.
// It follows the kernel FIB's outcomes (EEXIST on add over an existing prefix, ESRCH on
// delete of an absent one) so that code tested against it behaves the same on Linux.

import { AFI, type Afi, type Prefix } from '../lib/ip.js';
import {
  describeChange,
  validateChange,
  type ApplyReport,
  type Fib,
  type FibChange,
  type FibFailure,
  type FibRoute,
} from './fib.js';
import { LpmTrie } from './lpm-trie.js';

/**
 * Routes are held by reference: callers must not mutate a route (or its byte arrays) after
 * giving it to `apply()`.
 */
export class MemoryFib implements Fib {
  private readonly v4 = new LpmTrie<FibRoute>(1);
  private readonly v6 = new LpmTrie<FibRoute>(4);
  private closed = false;

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  async apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    return this.applySync(changes);
  }

  /** `apply()` without the promise, for hot paths and benchmarks. */
  applySync(changes: readonly FibChange[]): ApplyReport {
    if (this.closed) throw new Error('MemoryFib: apply() after close()');
    const failed: FibFailure[] = [];
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      const bad = validateChange(c);
      if (bad !== undefined) {
        failed.push({
          index: i,
          change: c,
          code: 'EINVAL',
          message: `${describeChange(c)}: ${bad}`,
        });
        continue;
      }
      if (c.op === 'delete') {
        const p = c.prefix;
        if (this.trie(p.afi).delete(p.addr, p.len) === undefined) {
          failed.push({
            index: i,
            change: c,
            code: 'ESRCH',
            message: `${describeChange(c)}: no such route`,
          });
        }
        continue;
      }
      const p = c.route.prefix;
      const t = this.trie(p.afi);
      if (c.op === 'add' && t.get(p.addr, p.len) !== undefined) {
        failed.push({
          index: i,
          change: c,
          code: 'EEXIST',
          message: `${describeChange(c)}: route exists`,
        });
        continue;
      }
      t.set(p.addr, p.len, c.route);
    }
    return { applied: changes.length - failed.length, failed };
  }

  /** Adds or replaces one route without checks (the caller validated it). */
  put(route: FibRoute): void {
    const p = route.prefix;
    this.trie(p.afi).set(p.addr, p.len, route);
  }

  /** Removes one prefix; returns the route it had. */
  remove(prefix: Prefix): FibRoute | undefined {
    return this.trie(prefix.afi).delete(prefix.addr, prefix.len);
  }

  /** Longest-prefix match; `addr` is 4 (IPv4) or 16 (IPv6) bytes. */
  lookup(addr: Uint8Array): FibRoute | undefined {
    if (addr.length === 4) return this.v4.lookup(addr);
    if (addr.length === 16) return this.v6.lookup(addr);
    return undefined;
  }

  /** Exact match. */
  get(prefix: Prefix): FibRoute | undefined {
    return this.trie(prefix.afi).get(prefix.addr, prefix.len);
  }

  async list(afi?: Afi): Promise<FibRoute[]> {
    return this.listSync(afi);
  }

  /** In address order, IPv4 first; shorter prefixes before the longer ones they cover. */
  listSync(afi?: Afi): FibRoute[] {
    const out: FibRoute[] = [];
    if (afi === undefined || afi === AFI.IPv4) for (const r of this.v4.values()) out.push(r);
    if (afi === undefined || afi === AFI.IPv6) for (const r of this.v6.values()) out.push(r);
    return out;
  }

  async flush(): Promise<void> {
    this.v4.clear();
    this.v6.clear();
  }

  async close(opts?: { readonly keepRoutes?: boolean }): Promise<void> {
    if (!opts?.keepRoutes) await this.flush();
    this.closed = true;
  }

  private trie(afi: Afi): LpmTrie<FibRoute> {
    return afi === AFI.IPv4 ? this.v4 : this.v6;
  }
}

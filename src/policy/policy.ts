// Policies: compile from definitions, evaluate on routes.
//
// Evaluation of a chain of policies (one per peer and direction):
// - Policies run in order; within a policy, terms run in order.
// - A term whose conditions all hold runs its actions in order, then its final action:
//   `accept` / `reject` ends the whole chain with that decision; `next` (the default when
//   neither `final` nor a trailing accept/reject in `then` is given) goes on to the next
//   term, keeping the modifications. A term whose conditions do not hold does nothing.
// - When no term of a policy decided, its `default` applies: accept, reject, or `next`
//   (the default) to go on with the next policy of the chain.
// - Falling off the end of the chain rejects (like FRR's route-map implicit deny and a
//   BIRD filter that ends without accept/reject): accepting must be written down.
// - A rejected route comes back with the input attributes; modifications are dropped.
//
// RFC 8212: an eBGP session with no configured policy in a direction uses a policy that
// rejects everything (defaultPolicy); iBGP sessions accept everything.

import { err, ok, type Result } from '../lib/result.js';
import { compileThen, type Action } from './actions.js';
import { compileAsPathList, type AsPathList } from './as-path-regex.js';
import { Checker, checkKeys, isRecord, oneOf } from './check.js';
import { compileMatch, EMPTY_ENV, type EvalState, type Matcher, type PolicyEnv } from './match.js';
import { compilePrefixList, type PrefixList } from './prefix-list.js';
import type {
  FinalAction,
  PolicyContext,
  PolicyError,
  PolicyResult,
  PolicyRoute,
} from './types.js';

export interface CompiledTerm {
  /** `name (terms[i])`, or `terms[i]` for an unnamed term; used in reasons. */
  readonly label: string;
  readonly matches: readonly Matcher[];
  readonly actions: readonly Action[];
  readonly final: FinalAction;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly terms: readonly CompiledTerm[];
  readonly default: FinalAction;
  /** Reason given when the default decides (built-in policies explain themselves). */
  readonly defaultReason?: string;
}

/** A compiled `policy` config section. */
export interface PolicySet {
  readonly env: PolicyEnv;
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
}

export type Direction = 'import' | 'export';

const FINALS = ['accept', 'reject', 'next'] as const;

/**
 * Validate and compile one policy definition. `name` is the policy's key under
 * `policies`; error paths start with `policies.<name>`. Named lists come from `env`
 * (see compilePolicyConfig).
 */
export function compilePolicy(
  def: unknown,
  name: string,
  env: PolicyEnv = EMPTY_ENV,
): Result<CompiledPolicy, PolicyError[]> {
  const c = new Checker();
  const p = compilePolicyAt(c, `policies.${name}`, name, def, env);
  return p && c.errors.length === 0 ? ok(p) : err(c.errors);
}

function compilePolicyAt(
  c: Checker,
  path: string,
  name: string,
  def: unknown,
  env: PolicyEnv,
): CompiledPolicy | undefined {
  if (!isRecord(def)) return c.fail(path, 'a mapping with terms and default', def);
  checkKeys(c, path, def, ['terms', 'default']);
  const dflt =
    def.default === undefined ? 'next' : oneOf(c, `${path}.default`, def.default, FINALS);
  const terms: CompiledTerm[] = [];
  if (def.terms !== undefined) {
    if (!Array.isArray(def.terms)) c.fail(`${path}.terms`, 'a list of terms', def.terms);
    else {
      const seen = new Set<string>();
      def.terms.forEach((t, i) => {
        const term = compileTerm(c, `${path}.terms[${i}]`, i, t, env, seen);
        if (term) terms.push(term);
      });
    }
  }
  return dflt ? { name, terms, default: dflt } : undefined;
}

function compileTerm(
  c: Checker,
  path: string,
  i: number,
  def: unknown,
  env: PolicyEnv,
  seen: Set<string>,
): CompiledTerm | undefined {
  if (!isRecord(def)) return c.fail(path, 'a term { name?, match?, then?, final? }', def);
  checkKeys(c, path, def, ['name', 'match', 'then', 'final']);
  let label = `terms[${i}]`;
  if (def.name !== undefined) {
    if (typeof def.name !== 'string' || def.name === '') {
      c.fail(`${path}.name`, 'a non-empty string', def.name);
    } else if (seen.has(def.name)) {
      c.fail(`${path}.name`, 'a name not used by another term of this policy', def.name);
    } else {
      seen.add(def.name);
      label = `"${def.name}" (${label})`;
    }
  }
  const matches = compileMatch(c, `${path}.match`, def.match, env);
  const then = compileThen(c, `${path}.then`, def.then);
  let final: FinalAction | undefined = then?.final ?? 'next';
  if (def.final !== undefined) {
    const f = oneOf(c, `${path}.final`, def.final, FINALS);
    if (f && then?.final && f !== then.final) {
      c.fail(`${path}.final`, `${then.final} (the then list already ends with ${then.final})`, f);
    }
    final = f;
  }
  if (!matches || !then || !final) return undefined;
  return { label, matches, actions: then.actions, final };
}

/**
 * Validate and compile a whole `policy` section: `prefix-lists`, `as-path-lists` and
 * `policies`. Policies may refer to the named lists.
 */
export function compilePolicyConfig(def: unknown): Result<PolicySet, PolicyError[]> {
  const c = new Checker();
  if (!isRecord(def)) {
    c.fail('(top level)', 'a mapping with prefix-lists, as-path-lists and policies', def);
    return err(c.errors);
  }
  checkKeys(c, '(top level)', def, ['prefix-lists', 'as-path-lists', 'policies']);
  const prefixLists = new Map<string, PrefixList>();
  const asPathLists = new Map<string, AsPathList>();
  const section = (key: string): Record<string, unknown> => {
    const v = def[key];
    if (v === undefined) return {};
    if (isRecord(v)) return v;
    c.fail(key, 'a mapping from names to definitions', v);
    return {};
  };
  for (const [name, d] of Object.entries(section('prefix-lists'))) {
    const l = compilePrefixList(c, `prefix-lists.${name}`, name, d);
    if (l) prefixLists.set(name, l);
  }
  for (const [name, d] of Object.entries(section('as-path-lists'))) {
    const l = compileAsPathList(c, `as-path-lists.${name}`, name, d);
    if (l) asPathLists.set(name, l);
  }
  const env: PolicyEnv = { prefixLists, asPathLists };
  const policies = new Map<string, CompiledPolicy>();
  for (const [name, d] of Object.entries(section('policies'))) {
    const p = compilePolicyAt(c, `policies.${name}`, name, d, env);
    if (p) policies.set(name, p);
  }
  return c.errors.length === 0 ? ok({ env, policies }) : err(c.errors);
}

/**
 * Resolve a peer's list of policy names (a name or a list of names) against a policy set;
 * `path` is where the list is in the config, e.g. `peers[0].import`.
 */
export function resolveChain(
  set: PolicySet,
  names: unknown,
  path: string,
): Result<CompiledPolicy[], PolicyError[]> {
  const c = new Checker();
  const items = typeof names === 'string' ? [names] : names;
  if (!Array.isArray(items)) {
    c.fail(path, 'a policy name or a list of policy names', names);
    return err(c.errors);
  }
  const out: CompiledPolicy[] = [];
  items.forEach((n, i) => {
    const p = typeof n === 'string' ? set.policies.get(n) : undefined;
    if (p) out.push(p);
    else {
      const defined = [...set.policies.keys()].join(', ') || 'none are defined';
      c.fail(Array.isArray(names) ? `${path}[${i}]` : path, `a policy name (${defined})`, n);
    }
  });
  return c.errors.length === 0 ? ok(out) : err(c.errors);
}

/**
 * The policy of a peer direction without a configured one (RFC 8212 §2): eBGP rejects
 * everything, iBGP accepts everything.
 */
export function defaultPolicy(direction: Direction, peerIsEbgp: boolean): CompiledPolicy {
  return peerIsEbgp
    ? {
        name: `rfc8212-${direction}`,
        terms: [],
        default: 'reject',
        defaultReason: `RFC 8212: no ${direction} policy configured for eBGP peer`,
      }
    : {
        name: `ibgp-${direction}`,
        terms: [],
        default: 'accept',
        defaultReason: `no ${direction} policy configured for iBGP peer: accept all`,
      };
}

/** The chain to run: the configured one, or the RFC 8212 default when there is none. */
export function effectiveChain(
  configured: readonly CompiledPolicy[] | undefined,
  direction: Direction,
  peerIsEbgp: boolean,
): readonly CompiledPolicy[] {
  return configured && configured.length > 0 ? configured : [defaultPolicy(direction, peerIsEbgp)];
}

/** Run a chain of policies on a route (see the header for the rules). Pure. */
export function evaluateChain(
  chain: readonly CompiledPolicy[],
  route: PolicyRoute,
  ctx: PolicyContext,
): PolicyResult {
  const s: EvalState = {
    route,
    localAsn: ctx.localAsn,
    attrs: route.attributes,
    nextHop: undefined,
  };
  for (const p of chain) {
    for (const t of p.terms) {
      if (!allHold(t.matches, s)) continue;
      for (const a of t.actions) a(s);
      if (t.final !== 'next') {
        const verb = t.final === 'accept' ? 'accepted' : 'rejected';
        return finish(s, t.final, `${p.name}: term ${t.label} ${verb} the route`);
      }
    }
    if (p.default !== 'next') {
      return finish(
        s,
        p.default,
        p.defaultReason ?? `${p.name}: no term decided; default ${p.default}`,
      );
    }
  }
  const names = chain.map((p) => p.name).join(', ');
  return finish(
    s,
    'reject',
    chain.length === 0
      ? 'empty policy chain: implicit reject'
      : `end of policy chain (${names}): no term accepted the route; implicit reject`,
  );
}

/** Run one policy (a chain of one). */
export function evaluatePolicy(
  policy: CompiledPolicy,
  route: PolicyRoute,
  ctx: PolicyContext,
): PolicyResult {
  return evaluateChain([policy], route, ctx);
}

function allHold(ms: readonly Matcher[], s: EvalState): boolean {
  for (let i = 0; i < ms.length; i++) if (!ms[i]!(s)) return false;
  return true;
}

function finish(s: EvalState, action: 'accept' | 'reject', reason: string): PolicyResult {
  if (action === 'reject') return { action, attributes: s.route.attributes, reason };
  return s.nextHop === undefined
    ? { action, attributes: s.attrs, reason }
    : { action, attributes: s.attrs, reason, nextHop: s.nextHop };
}

// Route policy: the data a policy is written in (the `…Def` types, the shape of the YAML
// config), what it compiles to, and what evaluating it takes and returns.
//
// A policy is a list of terms evaluated in order, then a default action; a peer direction
// (import or export) runs a chain of policies. See policy.ts for the evaluation rules.

import type { Prefix } from '../lib/ip.js';
import type { PathAttribute } from '../wire/index.js';

// ---------------------------------------------------------------------------------------
// Definitions (what a config file holds). compilePolicy validates them, so they may arrive
// as `unknown` from a YAML parser; these types document the accepted shape.

export type PermitDeny = 'permit' | 'deny';
export type FinalAction = 'accept' | 'reject' | 'next';
export type OriginName = 'igp' | 'egp' | 'incomplete';

/** One prefix-list line (FRR/Cisco `ip prefix-list` semantics, see prefix-list.ts). */
export interface PrefixListEntryDef {
  prefix: string;
  ge?: number;
  le?: number;
  /** Default `permit`. */
  action?: PermitDeny;
}

/** One AS-path list line: a regex (permit) or a regex with an explicit action. */
export type AsPathEntryDef = string | { regex: string; action?: PermitDeny };

/** A list of community patterns (any of them), or any/all/none of several lists. */
export type CommunityMatchDef = string[] | { any?: string[]; all?: string[]; none?: string[] };

/** An inclusive range; a bare number means exactly that value. */
export type RangeDef = number | { min?: number; max?: number };

/** Every key present must hold (logical AND); an absent or empty match holds for every route. */
export interface MatchDef {
  /** The name of a list under `prefix-lists`, or an inline list. Holds when the list permits. */
  'prefix-list'?: string | PrefixListEntryDef[];
  'prefix-length'?: RangeDef;
  family?: 'ipv4' | 'ipv6';
  /** The name of a list under `as-path-lists`, or an inline list. Holds when the list permits. */
  'as-path'?: string | AsPathEntryDef[];
  'as-path-length'?: RangeDef;
  community?: CommunityMatchDef;
  'large-community'?: CommunityMatchDef;
  'ext-community'?: CommunityMatchDef;
  origin?: OriginName | OriginName[];
  /** Addresses or prefixes; holds when the route's next hop is in any of them. */
  'next-hop'?: string | string[];
  /** The ASN of the peer the route was learned from (PolicyRoute.peer), in both directions. */
  'peer-asn'?: number | number[];
  'peer-address'?: string | string[];
  'route-type'?: 'ibgp' | 'ebgp';
}

/**
 * One action: `accept` / `reject` (stop here), or an object with exactly one key.
 * `set-med` takes a number or `+n` / `-n` (relative, saturating; an absent MED counts as
 * 0). `prepend` takes a count of our own ASN, or `{ asn, count }`. `set-next-hop` takes
 * an address or `self`.
 */
export type ActionDef =
  | 'accept'
  | 'reject'
  | { 'set-local-pref': number }
  | { 'set-med': number | string }
  | { 'set-origin': OriginName }
  | { 'set-next-hop': string }
  | { prepend: number | { asn: number; count?: number } }
  | { 'add-community': string[] }
  | { 'remove-community': string[] }
  | { 'set-community': string[] }
  | { 'add-large-community': string[] }
  | { 'remove-large-community': string[] }
  | { 'set-large-community': string[] }
  | { 'add-ext-community': string[] }
  | { 'remove-ext-community': string[] }
  | { 'set-ext-community': string[] };

export interface TermDef {
  /** Used in reasons; defaults to `terms[i]`. Unique within a policy. */
  name?: string;
  match?: MatchDef;
  then?: ActionDef[];
  /** What happens after the actions when the match holds. Default `next`. */
  final?: FinalAction;
}

export interface PolicyDef {
  terms?: TermDef[];
  /** When no term decided. Default `next`: the next policy of the chain (or, at the end of
   * the chain, reject). */
  default?: FinalAction;
}

/** A whole `policy` config section: named lists shared by every policy, and the policies. */
export interface PolicyConfigDef {
  'prefix-lists'?: Record<string, PrefixListEntryDef[]>;
  'as-path-lists'?: Record<string, AsPathEntryDef[]>;
  policies?: Record<string, PolicyDef>;
}

/** A config error: the key path (`policies.customer-in.terms[2].match.prefix-list[0]`) and
 * what was expected there. `message` is the two joined, ready to print. */
export interface PolicyError {
  readonly path: string;
  readonly expected: string;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------
// Evaluation.

export interface PolicyPeer {
  readonly asn: number;
  readonly address: Uint8Array;
  readonly ibgp: boolean;
}

/** One route as policy sees it. */
export interface PolicyRoute {
  readonly prefix: Prefix;
  readonly attributes: readonly PathAttribute[];
  /**
   * The peer the route was learned from, in both directions (as BIRD's `from` and GoBGP's
   * neighbor conditions), so an export policy can tell customer routes from transit ones;
   * which peer it is being sent to is implied by whose chain runs. For a locally
   * originated route the caller passes our own ASN and `ibgp: true`.
   */
  readonly peer: PolicyPeer;
  readonly pathId?: number;
}

/** What evaluation needs from the speaker. */
export interface PolicyContext {
  /** Our ASN, for `prepend: n`. */
  readonly localAsn: number;
}

export interface PolicyResult {
  readonly action: 'accept' | 'reject';
  /**
   * The attributes after the actions, in canonical (type code) order for anything added.
   * The input array itself when nothing changed (it is readonly, so sharing is safe and
   * lets interning see the identity); a new array otherwise. The input is never mutated.
   * On reject, always the input attributes.
   */
  readonly attributes: readonly PathAttribute[];
  /** Which policy and term (or default) decided. */
  readonly reason: string;
  /**
   * Present when a `set-next-hop` action ran (the last one wins). `'self'` is a marker:
   * the caller substitutes its own address for the session (NEXT_HOP or MP_REACH_NLRI
   * next hop); the attributes are left as they were. An address has also been written
   * into NEXT_HOP (IPv4) or the MP_REACH_NLRI next hop when the route carries one.
   */
  readonly nextHop?: 'self' | Uint8Array;
}

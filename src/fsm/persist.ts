// Export and import of a session's FSM state as plain JSON (ARCHITECTURE.md: "the
// speaker's state that recovery and migration need is exportable and importable"; router
// grafting §3 and TCPR's restart). Bytes travel as {"$hex": "..."}, sets as {"$set": [...]};
// the injected generator function does not travel (pass it again to importState). Timer
// deadlines are absolute on the exporter's clock; `shiftMs` moves them onto another.

import { fromHex, toHex } from '../lib/bytes.js';
import { resolveConfig, type PeerConfig } from './config.js';
import type { Negotiated } from './negotiate.js';
import type { Rng } from './random.js';
import type { Session } from './session.js';
import { isBgpState, type BgpState } from './states.js';
import { TimerSet, type Deadlines } from './timers.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const SNAPSHOT_FORMAT = 'nonstop.fsm.session/1';

export interface SessionSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly state: BgpState;
  readonly inactive: boolean;
  readonly started: boolean;
  readonly passiveStart: boolean;
  readonly connectRetryCounter: number;
  readonly dampLevel: number;
  readonly rngState: number;
  readonly timers: Deadlines;
  readonly establishedAt: number | null;
  readonly negotiated: Json;
  readonly config: Json;
}

export function exportState(s: Session): SessionSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    state: s.state,
    inactive: s.inactive,
    started: s.started,
    passiveStart: s.passiveStart,
    connectRetryCounter: s.connectRetryCounter,
    dampLevel: s.dampLevel,
    rngState: s.rngState,
    timers: { ...s.timers.deadlines },
    establishedAt: s.establishedAt,
    negotiated: s.negotiated === null ? null : toJson(s.negotiated),
    config: toJson(s.config),
  };
}

/** Rebuild a session from exportState's output (possibly after JSON text round-trip). */
export function importState(obj: unknown, opts?: { rng?: Rng; shiftMs?: number }): Session {
  if (!isRecord(obj) || obj['format'] !== SNAPSHOT_FORMAT) {
    throw new Error(`not a session snapshot: expected format "${SNAPSHOT_FORMAT}"`);
  }
  const state = obj['state'];
  if (!isBgpState(state)) throw new Error(`session snapshot: unknown state ${String(state)}`);
  const bool = (k: string): boolean => {
    const v = obj[k];
    if (typeof v !== 'boolean') throw new Error(`session snapshot: ${k} must be a boolean`);
    return v;
  };
  const num = (k: string): number => {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`session snapshot: ${k} must be a number`);
    }
    return v;
  };
  const cfg = fromJson(obj['config']);
  if (!isRecord(cfg)) throw new Error('session snapshot: config must be an object');
  const config = resolveConfig({
    ...(cfg as unknown as PeerConfig),
    peerAs: typeof cfg['peerAs'] === 'number' ? cfg['peerAs'] : undefined,
    rng: opts?.rng,
  });
  const timersRaw = obj['timers'];
  if (!isRecord(timersRaw)) throw new Error('session snapshot: timers must be an object');
  const shift = opts?.shiftMs ?? 0;
  const negotiatedRaw = obj['negotiated'];
  const negotiated = negotiatedRaw === null ? null : fromJson(negotiatedRaw);
  if (
    negotiated !== null &&
    !(isRecord(negotiated) && typeof negotiated['holdTime'] === 'number')
  ) {
    throw new Error('session snapshot: negotiated must be null or negotiated parameters');
  }
  const establishedAt = obj['establishedAt'];
  if (establishedAt !== null && typeof establishedAt !== 'number') {
    throw new Error('session snapshot: establishedAt must be null or a number');
  }
  return {
    config,
    state,
    inactive: bool('inactive'),
    started: bool('started'),
    passiveStart: bool('passiveStart'),
    timers: TimerSet.from(timersRaw).shift(shift),
    connectRetryCounter: num('connectRetryCounter'),
    dampLevel: num('dampLevel'),
    rngState: num('rngState') >>> 0,
    negotiated: negotiated as Negotiated | null,
    establishedAt: establishedAt === null ? null : establishedAt + shift,
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Plain JSON for a value made of records, arrays, bytes, sets and primitives. */
export function toJson(v: unknown): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  if (v instanceof Uint8Array) return { $hex: toHex(v) };
  if (v instanceof Set) return { $set: [...(v as Set<unknown>)].map(toJson) };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || typeof x === 'function') continue;
      out[k] = toJson(x);
    }
    return out;
  }
  throw new Error(`cannot export a ${typeof v} as JSON`);
}

/** Inverse of toJson. */
export function fromJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (!isRecord(v)) return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && typeof v['$hex'] === 'string') return fromHex(v['$hex']);
  if (keys.length === 1 && Array.isArray(v['$set'])) return new Set(v['$set'].map(fromJson));
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = fromJson(v[k]);
  return out;
}

// The policy sections of the config (`prefix-lists`, `as-path-lists`, `community-lists`,
// `policies`), compiled by the policy engine. The engine validates everything and names
// the key path of each mistake; here those paths are turned back into lines of the file.
//
// `community-lists` is the config's own addition: where a `match` takes a list of
// community patterns (`community`, `large-community`, `ext-community`, and their `any`,
// `all`, `none`), a name instead of a list refers to a list under `community-lists`; it is
// put in place before the engine sees the policy.

import {
  compilePolicy,
  compilePolicyConfig,
  EMPTY_ENV,
  type CompiledPolicy,
  type PolicyEnv,
  type PolicyError,
} from '../../policy/index.js';
import { suggestion } from './errors.js';
import { items, locate, namedEntries, scalar, type MapView, type Reader } from './reader.js';

export interface CompiledPolicies {
  /** Every name under `policies`, compiled or not (for checking references to them). */
  readonly names: readonly string[];
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  readonly env: PolicyEnv;
  readonly fingerprints: ReadonlyMap<string, string>;
}

const COMMUNITY_MATCHES = ['community', 'large-community', 'ext-community'] as const;

/**
 * Compile the policy sections of `root` (whose plain-JS form is `js`), recording errors
 * in `r`.
 */
export function readPolicies(
  r: Reader,
  root: MapView,
  js: Record<string, unknown>,
): CompiledPolicies {
  const communityLists = readCommunityLists(r, root);
  const policiesDef = js.policies == null ? undefined : structuredClone(js.policies);
  // Engine path of a spliced-in community list → where that list is in the file.
  const spliced = new Map<string, string>();
  if (isRecord(policiesDef)) {
    for (const [name, p] of Object.entries(policiesDef)) {
      if (!isRecord(p) || !Array.isArray(p.terms)) continue;
      p.terms.forEach((t: unknown, i) => {
        if (!isRecord(t) || !isRecord(t.match)) return;
        const at = `policies.${name}.terms[${i}].match`;
        for (const key of COMMUNITY_MATCHES) {
          const v = t.match[key];
          if (typeof v === 'string') {
            t.match[key] = splice(r, root, communityLists, v, `${at}.${key}`, spliced);
          } else if (isRecord(v)) {
            for (const sub of ['any', 'all', 'none']) {
              const w = v[sub];
              if (typeof w !== 'string') continue;
              v[sub] = splice(r, root, communityLists, w, `${at}.${key}.${sub}`, spliced);
            }
          }
        }
      });
    }
  }

  const section = (key: string): unknown => (js[key] == null ? undefined : js[key]);
  const compiled = compilePolicyConfig({
    'prefix-lists': section('prefix-lists'),
    'as-path-lists': section('as-path-lists'),
    policies: policiesDef,
  });
  const names = isRecord(policiesDef) ? Object.keys(policiesDef) : [];
  const fingerprints = new Map<string, string>();
  if (isRecord(policiesDef)) {
    for (const [name, def] of Object.entries(policiesDef)) {
      fingerprints.set(name, fingerprint(def, js));
    }
  }
  if (compiled.ok) {
    const { env, policies } = compiled.value;
    return { names, policies, env, fingerprints };
  }
  for (const e of compiled.error) report(r, root, e, spliced);
  return { names, policies: new Map(), env: EMPTY_ENV, fingerprints };
}

/** `community-lists`: name → list of community patterns of any kind. */
function readCommunityLists(r: Reader, root: MapView): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const s = root.slot('community-lists');
  if (s.value === null) return out;
  for (const [name, list] of namedEntries(r, s, 'lists of communities') ?? []) {
    const patterns: string[] = [];
    for (const item of items(r, list, 'communities') ?? []) {
      const v = scalar(item.value);
      if (typeof v === 'string' && isCommunityPattern(v)) patterns.push(v);
      else {
        r.expected(
          item,
          'a community like 65001:100 or no-export, a large community like 65001:1:2, or an extended community like rt:65001:100 (any part may be *)',
        );
      }
    }
    out.set(name, patterns);
  }
  return out;
}

/** Whether the policy engine accepts `text` as a pattern of any of the community kinds. */
function isCommunityPattern(text: string): boolean {
  return COMMUNITY_MATCHES.some(
    (key) => compilePolicy({ terms: [{ match: { [key]: [text] } }] }, 'community-lists').ok,
  );
}

function splice(
  r: Reader,
  root: MapView,
  lists: ReadonlyMap<string, string[]>,
  name: string,
  path: string,
  spliced: Map<string, string>,
): unknown {
  const list = lists.get(name);
  if (list) {
    spliced.set(path, `community-lists.${name}`);
    return [...list];
  }
  const defined =
    lists.size === 0 ? 'none are defined' : `defined: ${[...lists.keys()].join(', ')}`;
  r.error(
    locate(r, root.node, path),
    path,
    `expected the name of a list under community-lists (${defined}), got ${JSON.stringify(name)}${suggestion(name, lists.keys())}`,
  );
  // An empty list keeps the engine from reporting the same mistake again.
  return [];
}

/** Turn an engine error into a ConfigError at the right line. */
function report(
  r: Reader,
  root: MapView,
  e: PolicyError,
  spliced: ReadonlyMap<string, string>,
): void {
  let path = e.path;
  for (const [from, to] of spliced) {
    if (path.startsWith(from + '[')) path = to + path.slice(from.length);
  }
  const at = locate(r, root.node, path);
  const message = e.message.startsWith(`${e.path}: `)
    ? e.message.slice(e.path.length + 2)
    : `expected ${e.expected}`;
  // The engine lists the allowed keys of a mapping; say it as the rest of the config does.
  const keys = /^one of the (?:keys|actions) (.*)$/.exec(e.expected);
  if (keys && !message.includes(', got ')) {
    const word = path.slice(path.lastIndexOf('.') + 1);
    const allowed = keys[1]!.split(', ');
    r.error(at, path, `unknown key${suggestion(word, allowed) || `; expected one of ${keys[1]}`}`);
    return;
  }
  r.error(at, path, message);
}

/** Text that changes whenever the policy or a named list it refers to changes. */
function fingerprint(def: unknown, js: Record<string, unknown>): string {
  const prefixLists = isRecord(js['prefix-lists']) ? js['prefix-lists'] : {};
  const asPathLists = isRecord(js['as-path-lists']) ? js['as-path-lists'] : {};
  const used: Record<string, unknown> = {};
  if (isRecord(def) && Array.isArray(def.terms)) {
    for (const t of def.terms as unknown[]) {
      if (!isRecord(t) || !isRecord(t.match)) continue;
      const pl = t.match['prefix-list'];
      const ap = t.match['as-path'];
      if (typeof pl === 'string') used[`prefix-lists.${pl}`] = prefixLists[pl];
      if (typeof ap === 'string') used[`as-path-lists.${ap}`] = asPathLists[ap];
    }
  }
  return JSON.stringify([def, used]);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// parseSpeakerConfig: YAML text → the typed SpeakerConfig of schema.ts, or every mistake
// found, each at its line and column. Pure: the text comes in, nothing is read or written.
// A YAML syntax error stops there (the tree after it is not what the user meant);
// everything else is checked to the end.

import { LineCounter, parseDocument, type Node } from 'yaml';
import { err, ok, type Result } from '../../lib/result.js';
import { sortErrors, type ConfigError } from './errors.js';
import { defaultListen, readClusterId, readGlobal } from './global.js';
import { readNeighbors } from './neighbors.js';
import { readPolicies } from './policies.js';
import { MapView, Reader } from './reader.js';
import type { SpeakerConfig } from './schema.js';
import { readStatic } from './static.js';
import { asn, identifier } from './values.js';

export const TOP_LEVEL_KEYS = [
  'router-id',
  'asn',
  'listen',
  'control',
  'log',
  'decision',
  'fib',
  'mrt',
  'graceful-restart',
  'route-reflector',
  'static',
  'prefix-lists',
  'as-path-lists',
  'community-lists',
  'policies',
  'neighbors',
] as const;

export function parseSpeakerConfig(
  text: string,
  file: string,
): Result<SpeakerConfig, ConfigError[]> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Reported alone: the first error is where the parser stopped; the ones after it (often
    // at the same place) follow from it and would only confuse.
    return err(
      sortErrors(
        doc.errors.map((e) => {
          const p = lines.linePos(e.pos[0]);
          const hint = colonHint(text.slice(e.pos[0]).split('\n', 1)[0]!);
          return {
            file,
            line: p.line,
            column: p.col,
            key: '',
            message: `YAML: ${e.message}${hint}`,
          };
        }),
      ).slice(0, 1),
    );
  }
  const r = new Reader(file, doc, lines);
  const contents = doc.contents as Node | null;
  const root = MapView.open(
    r,
    { value: contents, at: contents, path: '' },
    TOP_LEVEL_KEYS,
    'a mapping with at least router-id and asn',
  );
  if (!root) return err(sortErrors(r.errors));
  const js = doc.toJS() as Record<string, unknown>;

  const routerId = root.req(
    'router-id',
    'the BGP Identifier, a dotted quad like 198.18.0.1',
    identifier,
  );
  const localAsn = root.req('asn', 'the local AS number, like 65001', asn);
  const global = readGlobal(r, root);
  const clusterId = readClusterId(r, root, routerId ?? new Uint8Array(4));
  const staticRoutes = readStatic(r, root);
  const policies = readPolicies(r, root, js);
  const neighbors = readNeighbors(r, root, localAsn, policies);
  for (const w of doc.warnings) {
    const p = lines.linePos(w.pos[0]);
    r.warnings.push({ file, line: p.line, column: p.col, key: '', message: `YAML: ${w.message}` });
  }

  if (r.errors.length > 0 || routerId === undefined || localAsn === undefined) {
    return err(sortErrors(r.errors));
  }
  return ok({
    file,
    routerId,
    asn: localAsn,
    ...global,
    listen: global.listen ?? defaultListen(),
    routeReflector: { clusterId },
    static: staticRoutes,
    policies: policies.policies,
    policyEnv: policies.env,
    policyFingerprints: policies.fingerprints,
    neighbors,
    warnings: sortErrors(r.warnings),
  });
}

/**
 * A plain IPv6 address that starts or ends with a colon (`::`, `2001:db8::`) reads as a
 * mapping key in YAML; when the parser stopped at one, say so.
 */
function colonHint(rest: string): string {
  const token = /^[^\s,\]}]*/.exec(rest)?.[0] ?? '';
  return token.includes('::') && (token.startsWith(':') || token.endsWith(':'))
    ? ' (quote an IPv6 address that starts or ends with a colon: "2001:db8::")'
    : '';
}

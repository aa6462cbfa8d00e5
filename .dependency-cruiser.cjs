// Layer rules of ARCHITECTURE.md: dependencies point down only.
// Each group is one level, lowest first. A layer may import lower levels; within a level,
// `siblings: true` lets layers import each other (rib/decision/policy, net/fib/control);
// otherwise they may not, except where `may` says so (graft/ uses tcpr/'s public API).
const levels = [
  { layers: ['lib'] },
  { layers: ['wire'] },
  { layers: ['fsm', 'mrt'] },
  { layers: ['rib', 'decision', 'policy'], siblings: true },
  { layers: ['net', 'fib', 'control'], siblings: true },
  { layers: ['speaker'] },
  { layers: ['btr', 'tcpr', 'graft', 'tunnel'], may: { graft: ['tcpr'] } },
  { layers: ['lab'] },
  { layers: ['cli'] },
];
/** Layers that each layer may NOT import: every higher level, and barred siblings. */
const above = {};
levels.forEach((level, i) => {
  const higher = levels.slice(i + 1).flatMap((l) => l.layers);
  for (const layer of level.layers) {
    const allowed = level.may?.[layer] ?? [];
    const siblings = level.siblings
      ? []
      : level.layers.filter((x) => x !== layer && !allowed.includes(x));
    above[layer] = [...siblings, ...higher];
  }
});
const layerRules = Object.entries(above)
  .filter(([, banned]) => banned.length > 0)
  .map(([from, banned]) => ({
    name: `layer-${from}`,
    comment: `${from}/ may not depend on a higher layer (${banned.join(', ')})`,
    severity: 'error',
    from: { path: `^src/${from}/` },
    to: { path: `^src/(${banned.join('|')})/` },
  }));
// The pure cores may not touch I/O: no sockets, files, processes or timers from Node's runtime.
const pure = ['wire', 'fsm', 'rib', 'decision', 'policy'];
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'pure-core-no-io',
      comment: 'wire/, fsm/, rib/, decision/, policy/ are pure: no Node I/O modules',
      severity: 'error',
      from: { path: `^src/(${pure.join('|')})/` },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers)',
      },
    },
    {
      name: 'btr-voter-pure',
      comment:
        "the BTR voter, canonical form and vote keys (btr/voter*, btr/canonical*), the FIB voter (btr/fib-vote*), the hypervisor's history, replicator, update vote, UPDATE writer and pass-through probe are the trusted base, and the replica supervisor and the btr config parser are pure too (file I/O stays in cli/): no Node I/O modules",
      severity: 'error',
      from: {
        path: '^src/btr/(voter|canonical|history|replicator|update-vote|update-writer|supervisor|config|fib-vote|pass-through)[^/]*\\.ts$',
      },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers)',
      },
    },
    {
      name: 'tcpr-core-pure',
      comment:
        "TCPR's core (tcpr/packet, checksum, options, filter, connection, control-codec, udp, and pump-filter, which runs in the pump's worker) is pure: packets and side-channel messages in, packets and replies out; the TUN/NFQUEUE pump and the UDP side channel live in net/ and cli/ (node:crypto is allowed for the codec's HMAC): no Node I/O modules",
      severity: 'error',
      from: {
        path: '^src/tcpr/(packet|checksum|options|filter|connection|control-codec|udp|pump-filter)[^/]*\\.ts$',
      },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers)',
      },
    },
    {
      name: 'tcpr-compaction-pure',
      comment:
        "non-stop BGP's input-log compaction (tcpr/input-compaction) is a pure function of the octets: the files and the worker thread are compaction-files and compaction-runner's",
      severity: 'error',
      from: { path: '^src/tcpr/input-compaction\\.ts$' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers)',
      },
    },
    {
      name: 'mrt-io-at-the-edge',
      comment:
        'mrt/ reads and writes files, but only source.ts (input, decompression) and text-out.ts (output) touch I/O; the rest is pure over bytes',
      severity: 'error',
      from: { path: '^src/mrt/', pathNot: '^src/mrt/(source|text-out)\\.ts$' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers|stream|zlib)',
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

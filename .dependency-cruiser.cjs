// Layer rules of ARCHITECTURE.md: dependencies point down only.
// Order (low to high): lib < wire < fsm,mrt < rib,decision,policy < net,fib,control < speaker
//   < btr,tcpr,graft,tunnel < lab < cli
/** Layers that each layer may NOT import (everything above it, plus pure-core I/O bans). */
const above = {
  lib: ['wire', 'fsm', 'mrt', 'rib', 'decision', 'policy', 'net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  wire: ['fsm', 'mrt', 'rib', 'decision', 'policy', 'net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  fsm: ['mrt', 'rib', 'decision', 'policy', 'net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  mrt: ['fsm', 'rib', 'decision', 'policy', 'net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  rib: ['net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  decision: ['net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  policy: ['net', 'fib', 'control', 'speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  net: ['speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  fib: ['speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  control: ['speaker', 'btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  speaker: ['btr', 'tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  btr: ['tcpr', 'graft', 'tunnel', 'lab', 'cli'],
  tcpr: ['btr', 'graft', 'tunnel', 'lab', 'cli'],
  graft: ['btr', 'tunnel', 'lab', 'cli'],
  tunnel: ['btr', 'tcpr', 'graft', 'lab', 'cli'],
  lab: ['cli'],
};
const layerRules = Object.entries(above).map(([from, banned]) => ({
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
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers)' },
    },
    {
      name: 'mrt-io-at-the-edge',
      comment:
        'mrt/ reads and writes files, but only source.ts (input, decompression) and text-out.ts (output) touch I/O; the rest is pure over bytes',
      severity: 'error',
      from: { path: '^src/mrt/', pathNot: '^src/mrt/(source|text-out)\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|dgram|child_process|http|https|worker_threads|os|cluster|timers|stream|zlib)' },
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

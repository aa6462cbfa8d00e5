// Top functions by self time from a V8 .cpuprofile (what `node --cpu-prof` writes): the
// sampled nodes' time deltas summed per function (name, file and line), as a Markdown table.

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export function topFunctions(p: CpuProfile, n: number, windowMs: number): string {
  const byId = new Map(p.nodes.map((x) => [x.id, x.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const cf = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    if (!cf) return;
    const file = cf.url.replace(/^file:\/\/.*?\/dist\//, '').replace(/^node:/, 'node:');
    const key = `${cf.functionName || '(anonymous)'} | ${file ? `${file}:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const busy = [...self.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .reduce((s, [, v]) => s + v, 0);
  const rows = [...self.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => {
      const [fn, where] = k.split(' | ');
      return `| ${fn} | ${where ? `\`${where}\`` : ''} | ${(us / 1000).toFixed(0)} | ${((100 * us) / busy).toFixed(1)}% |`;
    });
  return (
    `Profile: ${(total / 1e6).toFixed(1)} s sampled over the process lifetime (the measured window was ` +
    `${(windowMs / 1000).toFixed(1)} s), ${(busy / 1e6).toFixed(1)} s of it not idle; share = of the ` +
    `non-idle time (start-up included).\n\n` +
    `| function | where | self ms | share |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`
  );
}

// Locates the shared real-world BGP data (../shared/data relative to the project root,
// see ../shared/data/README.md). Data-driven suites must never pass silently when the
// folder is missing: they fail, unless NONSTOP_SKIP_DATA=1 asks them to skip.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

let root: string | undefined;

/** The project root: the nearest ancestor of this file that holds package.json. */
export function projectRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Absolute path of the shared data folder (it may not exist). */
export function dataDir(): string {
  return resolve(projectRoot(), '../shared/data');
}

/** Absolute path of `relPath` inside the shared data folder (it may not exist). */
export function dataPath(relPath: string): string {
  return join(dataDir(), relPath);
}

export const skipData = (): boolean => process.env['NONSTOP_SKIP_DATA'] === '1';

/**
 * The absolute path of `relPath` under the shared data folder, or undefined when it is
 * missing and NONSTOP_SKIP_DATA=1 (the test is then marked skipped and should return).
 * When it is missing otherwise, throws, which fails the test with a message saying what
 * to do.
 */
export function requireData(t: TestContext, relPath: string): string | undefined {
  const p = dataPath(relPath);
  if (existsSync(p)) return p;
  const msg =
    `test data missing: ${p} (shared data is expected at ../shared/data from the project root ` +
    `${projectRoot()}; see that folder's README.md). Set NONSTOP_SKIP_DATA=1 to skip data-driven tests.`;
  if (skipData()) {
    t.skip(msg);
    return undefined;
  }
  throw new Error(msg);
}

// The hypervisor runner for the real-daemon tests moved to src/lab/btr-router-runner.ts (so
// that `nonstop demo` can start it too); see its header. This file still runs it, for
// callers that spawn `dist/test/support/btr-router.js CONFIG.json`, and re-exports its types.

export type { BtrRouterConfig, BtrRouterLine } from '../../src/lab/btr-router-runner.js';
import '../../src/lab/btr-router-runner.js';

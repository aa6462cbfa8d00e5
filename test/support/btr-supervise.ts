// The replica supervisor for a lab BTR router moved to src/lab/btr-supervise.ts (`nonstop
// demo` uses it too); see its header. Re-exported here for the tests.

export {
  SeatedInstance,
  supervise,
  wallClock,
  type SuperviseOptions,
  type SupervisedRouter,
} from '../../src/lab/btr-supervise.js';

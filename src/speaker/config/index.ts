// Public API of the speaker configuration (docs/speaker.md, "Configuration").

export { parseSpeakerConfig, TOP_LEVEL_KEYS } from './parse.js';
export { loadSpeakerConfig } from './load.js';
export { formatConfigError, type ConfigError, type Severity } from './errors.js';
export { diffConfigs, type ConfigDiff, type NeighborChange } from './diff.js';
export * from './schema.js';

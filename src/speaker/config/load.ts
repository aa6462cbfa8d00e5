// loadSpeakerConfig: the one place the config touches the file system.

import { readFile } from 'node:fs/promises';
import { err, type Result } from '../../lib/result.js';
import type { ConfigError } from './errors.js';
import { parseSpeakerConfig } from './parse.js';
import type { SpeakerConfig } from './schema.js';

/** Read and parse the config at `path`; errors name `path` as given. */
export async function loadSpeakerConfig(
  path: string,
): Promise<Result<SpeakerConfig, ConfigError[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return err([
      { file: path, line: 0, column: 0, key: '', message: `cannot read the file (${why})` },
    ]);
  }
  return parseSpeakerConfig(text, path);
}

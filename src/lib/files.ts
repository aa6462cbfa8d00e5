// Replacing a small state file so that a crash leaves either the old or the new content,
// never a mix: write a temporary file beside it, then rename it over (rename is atomic).

import { closeSync, fdatasyncSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * Replaces `path` with `text` atomically. `durable`: the new content is fdatasync'ed before
 * the rename (it survives a crash of the machine, not only of the process).
 */
export function replaceFile(path: string, text: string, durable = false): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    if (durable) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

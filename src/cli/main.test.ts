import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands } from './main.js';

test('every lazily loaded command has the name and summary the usage text shows', async () => {
  for (const e of commands) {
    const c = await e.load();
    assert.equal(c.name, e.name);
    assert.equal(c.summary, e.summary);
  }
});

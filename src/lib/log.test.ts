// The logger's contract: JSON line shape, level filtering without formatting, child
// fields, text format, and tracers switched on by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, nullLogger, parseTrace, type LoggerOptions } from './log.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function capture(opts: LoggerOptions = {}): {
  lines: string[];
  log: ReturnType<typeof createLogger>;
} {
  const lines: string[] = [];
  const log = createLogger({ clock: () => T0, sink: (l) => lines.push(l), trace: '', ...opts });
  return { lines, log };
}

test('JSON lines: ts, level, msg first, then fields', () => {
  const { lines, log } = capture();
  log.info('session established', { peer: '198.18.0.2', asn: 65002, n: 10n });
  assert.equal(lines.length, 1);
  assert.equal(
    lines[0],
    '{"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"session established","peer":"198.18.0.2","asn":65002,"n":"10"}',
  );
});

test('levels below the threshold are dropped without touching the fields', () => {
  const { lines, log } = capture({ level: 'warn' });
  let touched = false;
  const fields = {
    get costly(): string {
      touched = true;
      return 'x';
    },
  };
  log.debug('d', fields);
  log.info('i', fields);
  assert.equal(touched, false);
  assert.equal(log.enabled('info'), false);
  assert.equal(log.enabled('error'), true);
  log.warn('w');
  log.error('e');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { level: string }).level),
    ['warn', 'error'],
  );
  // disabled levels share one no-op function
  assert.equal(log.debug, log.info);
});

test('child loggers add fields; call fields override; reserved keys are renamed', () => {
  const { lines, log } = capture({ fields: { component: 'speaker' } });
  const peer = log.child({ peer: '198.18.0.2' });
  const fam = peer.child({ family: 'ipv4-unicast' });
  fam.warn('max-prefix reached', { family: 'ipv6-unicast', msg: 'inner', limit: 1000 });
  const o = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(o, {
    ts: '2026-01-02T03:04:05.678Z',
    level: 'warn',
    msg: 'max-prefix reached',
    component: 'speaker',
    peer: '198.18.0.2',
    family: 'ipv6-unicast',
    'field.msg': 'inner',
    limit: 1000,
  });
});

test('errors, bytes and circular fields serialise', () => {
  const { lines, log } = capture();
  const err = Object.assign(new Error('boom'), { code: 'ERR_X' });
  log.error('failed', { error: err, bytes: new Uint8Array([0xde, 0xad]) });
  const o = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(o['error'], { name: 'Error', message: 'boom', code: 'ERR_X' });
  assert.equal(o['bytes'], 'dead');
  const loop: Record<string, unknown> = {};
  loop['self'] = loop;
  log.info('loop', { loop });
  const o2 = JSON.parse(lines[1]!) as Record<string, unknown>;
  assert.equal(o2['msg'], 'loop');
  assert.match(String(o2['logError']), /not serialisable/);
});

test('text format: time, padded level, message, key=value with quoting', () => {
  const { lines, log } = capture({ format: 'text' });
  log.info('session up', { peer: '198.18.0.2', description: 'upstream a', empty: '' });
  assert.equal(
    lines[0],
    '2026-01-02T03:04:05.678Z INFO  session up peer=198.18.0.2 description="upstream a" empty=""',
  );
});

test('tracers: no-op unless named (or all); print regardless of level', () => {
  const { lines, log } = capture({ level: 'error', trace: 'fsm, WIRE' });
  const fsm = log.tracer('fsm');
  const wire = log.tracer('wire');
  const rib = log.tracer('rib');
  assert.equal(fsm.enabled, true);
  assert.equal(wire.enabled, true);
  assert.equal(rib.enabled, false);
  fsm('OpenSent -> OpenConfirm', { peer: '198.18.0.2' });
  rib('ignored');
  assert.equal(lines.length, 1);
  const o = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(o['level'], 'trace');
  assert.equal(o['trace'], 'fsm');
  assert.equal(o['peer'], '198.18.0.2');
  const all = capture({ trace: 'all' });
  assert.equal(all.log.tracer('anything').enabled, true);
});

test('tracers default to the NONSTOP_TRACE environment variable', () => {
  const saved = process.env['NONSTOP_TRACE'];
  try {
    process.env['NONSTOP_TRACE'] = 'fsm,wire';
    const log = createLogger({ sink: () => {} });
    assert.equal(log.tracer('fsm').enabled, true);
    assert.equal(log.tracer('policy').enabled, false);
    delete process.env['NONSTOP_TRACE'];
    assert.equal(createLogger({ sink: () => {} }).tracer('fsm').enabled, false);
  } finally {
    if (saved === undefined) delete process.env['NONSTOP_TRACE'];
    else process.env['NONSTOP_TRACE'] = saved;
  }
  assert.deepEqual([...parseTrace(' a,,B ')], ['a', 'b']);
});

test('bad level is refused; nullLogger drops everything', () => {
  assert.throws(() => createLogger({ level: 'verbose' as never }), /log level must be one of/);
  nullLogger.error('nothing');
  assert.equal(nullLogger.child({ a: 1 }).tracer('fsm').enabled, false);
});

// The control server and client over a real Unix socket in a temporary directory (and
// loopback TCP): routing, path parameters, status codes, /metrics, stale socket handling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  ControlServer,
  ControlError,
  ControlConfigError,
  Reply,
  badRequest,
  parseHttpListen,
} from './server.js';
import { controlRequest, ControlClientError, apiErrorMessage } from './client.js';
import { Registry } from './metrics.js';
import { createLogger } from '../lib/log.js';
import { apiPath, API_PATHS } from './api-types.js';

/** A socket file nobody listens on, as a crashed process leaves it (SIGKILL skips cleanup). */
function leaveStaleSocket(path: string): void {
  const child = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.equal(child.signal, 'SIGKILL');
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nonstop-control-'));
}

async function withServer(
  setup: (s: ControlServer) => void,
  body: (sock: string, s: ControlServer, logs: string[]) => Promise<void>,
  extra: { http?: string; metrics?: Registry } = {},
): Promise<void> {
  const dir = tempDir();
  const sock = join(dir, 'run', 'speaker.sock'); // parent does not exist yet
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (l) => logs.push(l), trace: '' });
  const s = new ControlServer({ socket: sock, logger, ...extra });
  setup(s);
  await s.listen();
  try {
    await body(sock, s, logs);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('routes, path parameters, query, JSON bodies and status codes', async () => {
  await withServer(
    (s) => {
      s.get('/neighbors', () => ({ neighbors: [{ address: '198.18.0.2' }] }));
      s.get('/neighbors/:address', (r) => {
        if (r.params['address'] !== '2001:db8::2')
          throw new ControlError(404, `no neighbor ${r.params['address']}`);
        return { address: r.params['address'] };
      });
      s.post('/neighbors/:address/refresh', (r) => {
        const b = r.body as { direction?: unknown } | undefined;
        if (b?.direction !== 'in' && b?.direction !== 'out')
          throw badRequest('direction must be in or out');
        return { ok: true, message: `${r.params['address']} ${b.direction}` };
      });
      s.post('/neighbors/:address/reset', () => undefined);
      s.get('/rib', (r) => ({ prefix: r.query.get('prefix'), family: r.query.get('family') }));
      s.get('/boom', () => {
        throw new Error('kaboom');
      });
      s.get('/created', () => new Reply(201, { made: true }));
    },
    async (sock, _s, logs) => {
      let r = await controlRequest(sock, 'GET', '/neighbors');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { neighbors: [{ address: '198.18.0.2' }] });

      r = await controlRequest(
        sock,
        'GET',
        apiPath(API_PATHS.neighbor, { address: '2001:db8::2' }),
      );
      assert.deepEqual([r.status, r.json], [200, { address: '2001:db8::2' }]);

      r = await controlRequest(sock, 'GET', '/neighbors/198.18.0.9');
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, { error: { code: 'not_found', message: 'no neighbor 198.18.0.9' } });

      r = await controlRequest(sock, 'POST', '/neighbors/198.18.0.2/refresh', { direction: 'out' });
      assert.deepEqual([r.status, r.json], [200, { ok: true, message: '198.18.0.2 out' }]);

      r = await controlRequest(sock, 'POST', '/neighbors/198.18.0.2/refresh', {
        direction: 'sideways',
      });
      assert.equal(r.status, 400);
      assert.equal(apiErrorMessage(r), 'direction must be in or out');

      r = await controlRequest(sock, 'POST', '/neighbors/198.18.0.2/reset');
      assert.equal(r.status, 204);

      r = await controlRequest(sock, 'GET', '/rib?prefix=198.18.0.0%2F24&family=ipv4');
      assert.deepEqual(r.json, { prefix: '198.18.0.0/24', family: 'ipv4' });

      r = await controlRequest(sock, 'GET', '/created/');
      assert.deepEqual([r.status, r.json], [201, { made: true }]);

      r = await controlRequest(sock, 'GET', '/nowhere');
      assert.equal(r.status, 404);
      assert.match(apiErrorMessage(r), /no such endpoint: GET \/nowhere/);

      r = await controlRequest(sock, 'DELETE', '/neighbors');
      assert.equal(r.status, 405);
      assert.equal((r.json as { error: { code: string } }).error.code, 'method_not_allowed');
      r = await controlRequest(sock, 'GET', '/neighbors/198.18.0.2/reset');
      assert.equal(r.status, 405);
      assert.match(apiErrorMessage(r), /allowed: POST/);

      r = await controlRequest(sock, 'GET', '/neighbors/%E0%A4%A');
      assert.equal(r.status, 400);

      const boom = await controlRequest(sock, 'GET', '/boom');
      assert.equal(boom.status, 500);
      const id = (boom.json as { error: { id: string } }).error.id;
      assert.match(id, /^[0-9a-f]{8}$/);
      assert.match(apiErrorMessage(boom), new RegExp(`internal error \\(id ${id}\\)`));
      const logged = logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['id'] === id);
      assert.equal(logged?.['level'], 'error');
      assert.deepEqual(logged?.['error'], { name: 'Error', message: 'kaboom' });

      const requests = logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l['msg'] === 'control request');
      assert.ok(requests.length >= 10);
      assert.equal(requests[0]?.['level'], 'debug');
      assert.equal(requests[0]?.['status'], 200);

      r = await controlRequest(sock, 'GET', '/');
      assert.ok(
        (r.json as { endpoints: string[] }).endpoints.includes('POST /neighbors/:address/reset'),
      );
    },
  );
});

test('malformed JSON body is a 400', async () => {
  await withServer(
    (s) => s.post('/x', (r) => r.body ?? null),
    async (sock) => {
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          { socketPath: sock, method: 'POST', path: '/x', agent: false },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end('{"unterminated');
      });
      assert.equal(status, 400);
      const ok = await controlRequest(sock, 'POST', '/x', { a: 1 });
      assert.deepEqual(ok.json, { a: 1 });
    },
  );
});

test('/metrics serves the registry in the text format; the socket is mode 0660', async () => {
  const reg = new Registry();
  reg.counter('nonstop_test_total', 'A test counter.').inc(undefined, 3);
  await withServer(
    () => {},
    async (sock) => {
      assert.equal(statSync(sock).mode & 0o777, 0o660);
      assert.ok(statSync(sock).isSocket());
      const r = await controlRequest(sock, 'GET', '/metrics');
      assert.equal(r.status, 200);
      assert.equal(r.json, undefined);
      assert.match(r.text, /^# TYPE nonstop_test_total counter$/m);
      assert.match(r.text, /^nonstop_test_total 3$/m);
    },
    { metrics: reg },
  );
});

test('loopback TCP listener serves the same API; non-loopback addresses are refused', async () => {
  await withServer(
    (s) => s.get('/neighbors', () => ({ via: 'any' })),
    async (_sock, s) => {
      const a = s.httpAddress!;
      assert.equal(a.host, '127.0.0.1');
      const r = await controlRequest(`http://127.0.0.1:${a.port}`, 'GET', '/neighbors');
      assert.deepEqual(r.json, { via: 'any' });
    },
    { http: '127.0.0.1:0' },
  );
  assert.deepEqual(parseHttpListen('[::1]:8179'), { host: '::1', port: 8179 });
  assert.deepEqual(parseHttpListen('localhost:8179'), { host: 'localhost', port: 8179 });
  assert.deepEqual(parseHttpListen('127.1.2.3:1'), { host: '127.1.2.3', port: 1 });
  for (const bad of [
    '0.0.0.0:8179',
    '198.18.0.1:8179',
    '[::]:8179',
    '[2001:db8::1]:80',
    'example.com:80',
  ]) {
    assert.throws(
      () => parseHttpListen(bad),
      (e: unknown) =>
        e instanceof ControlConfigError &&
        e.code === 'ERR_CONTROL_NOT_LOOPBACK' &&
        /not a loopback address/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parseHttpListen('8179'), /expected HOST:PORT/);
  assert.throws(() => parseHttpListen('127.0.0.1:70000'), /out of range/);
  assert.throws(() => new ControlServer({ http: '0.0.0.0:8179' }), /not a loopback address/);
});

test('a stale socket is replaced, a live one is not, a regular file is not touched', async () => {
  const dir = tempDir();
  try {
    const sock = join(dir, 'speaker.sock');
    // stale: a socket file left behind by a process that died without removing it
    leaveStaleSocket(sock);
    assert.ok(statSync(sock).isSocket(), 'stale socket prepared');
    const s1 = new ControlServer({ socket: sock });
    s1.get('/ping', () => ({ pong: 1 }));
    await s1.listen();
    assert.deepEqual((await controlRequest(sock, 'GET', '/ping')).json, { pong: 1 });

    // live: a second server must refuse and leave the first one working
    const s2 = new ControlServer({ socket: sock });
    await assert.rejects(
      s2.listen(),
      (e: unknown) =>
        e instanceof ControlConfigError &&
        e.code === 'ERR_CONTROL_SOCKET_IN_USE' &&
        /already running/.test(e.message),
    );
    assert.deepEqual((await controlRequest(sock, 'GET', '/ping')).json, { pong: 1 });

    await s1.close();
    assert.equal(existsSync(sock), false, 'close removes the socket file');

    writeFileSync(sock, 'not a socket');
    await assert.rejects(
      new ControlServer({ socket: sock }).listen(),
      /exists and is not a socket/,
    );
    assert.equal(existsSync(sock), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('client errors say where it looked and what to do', async () => {
  const dir = tempDir();
  try {
    const sock = join(dir, 'speaker.sock');
    await assert.rejects(
      controlRequest(sock, 'GET', '/neighbors'),
      (e: unknown) =>
        e instanceof ControlClientError &&
        e.code === 'ERR_CONTROL_UNREACHABLE' &&
        e.message ===
          `cannot reach nonstop speaker at ${sock}: no such file (is it running? start it with \`nonstop speaker -c FILE\`)`,
    );
    // a socket nobody listens on
    leaveStaleSocket(sock);
    await assert.rejects(
      controlRequest(sock, 'GET', '/'),
      /connection refused: the socket is stale/,
    );
    // a server that never answers
    const silent = createNetServer((c) => c.resume()); // reads, never answers
    const slow = join(dir, 'slow.sock');
    await new Promise<void>((r) => silent.listen(slow, r));
    try {
      await assert.rejects(
        controlRequest(slow, 'GET', '/', undefined, { timeoutMs: 100 }),
        (e: unknown) => e instanceof ControlClientError && e.code === 'ERR_CONTROL_TIMEOUT',
      );
    } finally {
      await new Promise<void>((r) => silent.close(() => r()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

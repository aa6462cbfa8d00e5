// The control API server: HTTP/1.1 with JSON bodies, on a Unix socket (mode 0660, so
// access is granted through the socket's group) and optionally on a loopback TCP port.
// The API has no authentication of its own, which is why TCP is refused on anything but
// loopback. Layers above (the speaker) register their handlers; this module knows only
// routing, JSON, errors and /metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseIPv4, parseIPv6 } from '../lib/ip.js';
import { nullLogger, type Logger } from '../lib/log.js';
import { METRICS_CONTENT_TYPE, type Registry } from './metrics.js';
import type { ApiError } from './api-types.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ControlRequest {
  readonly method: HttpMethod;
  /** Decoded path, without the query string. */
  readonly path: string;
  /** Values of the route's `:name` segments, URI-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body; undefined when the request had none. */
  readonly body: unknown;
}

/**
 * A handler returns the JSON response body (status 200), `undefined` (204), or a `Reply`
 * for another status or a non-JSON body. Throwing a ControlError answers with its status
 * and message; any other exception is a 500 whose details go to the log under an id.
 */
export type Handler = (req: ControlRequest) => unknown;

export class Reply {
  constructor(
    readonly status: number,
    /** Serialised as JSON unless `contentType` is given, in which case it must be a string. */
    readonly body: unknown,
    readonly contentType?: string,
  ) {}
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  500: 'internal',
  503: 'unavailable',
};

/** An expected failure of a request, answered with `status` and `{ error: { code, message } }`. */
export class ControlError extends Error {
  readonly code: string;
  constructor(
    readonly status: number,
    message: string,
    code?: string,
  ) {
    super(message);
    this.name = 'ControlError';
    this.code = code ?? DEFAULT_CODES[status] ?? `http_${status}`;
  }
}

export const badRequest = (message: string): ControlError => new ControlError(400, message);
export const notFound = (message: string): ControlError => new ControlError(404, message);

/** Configuration problems (bad `control:` keys, socket in use); `code` is stable. */
export class ControlConfigError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'ERR_CONTROL_NOT_LOOPBACK'
      | 'ERR_CONTROL_ADDRESS'
      | 'ERR_CONTROL_SOCKET_IN_USE'
      | 'ERR_CONTROL_SOCKET_PATH',
  ) {
    super(message);
    this.name = 'ControlConfigError';
  }
}

export interface ControlServerOptions {
  /** Unix socket path, e.g. /run/nonstop/speaker.sock. */
  socket?: string;
  /** Optional loopback TCP listener, "127.0.0.1:8179", "[::1]:8179" or "localhost:8179". */
  http?: string;
  /** Permissions of the socket file. Default 0o660. */
  socketMode?: number;
  logger?: Logger;
  /** Served at GET /metrics when given. */
  metrics?: Registry;
  /** Largest accepted request body. Default 1 MiB. */
  maxBodyBytes?: number;
}

interface Route {
  readonly method: HttpMethod;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: Handler;
}

/** Parses and checks the `control.http` value: a loopback host and a port. */
export function parseHttpListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) {
    throw new ControlConfigError(
      `control.http: expected HOST:PORT (e.g. 127.0.0.1:8179 or [::1]:8179), got '${value}'`,
      'ERR_CONTROL_ADDRESS',
    );
  }
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port > 65535) {
    throw new ControlConfigError(
      `control.http: port ${port} is out of range`,
      'ERR_CONTROL_ADDRESS',
    );
  }
  if (!isLoopback(host)) {
    throw new ControlConfigError(
      `control.http: ${host} is not a loopback address; the control API has no authentication, ` +
        `so it listens on TCP only on 127.0.0.1, ::1 or localhost (use the Unix socket, or a ` +
        `reverse proxy with authentication, for remote access)`,
      'ERR_CONTROL_NOT_LOOPBACK',
    );
  }
  return { host, port };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const v4 = parseIPv4(host);
  if (v4) return v4[0] === 127;
  const v6 = parseIPv6(host);
  if (!v6) return false;
  const zeros = (from: number, to: number): boolean => v6.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 15) && v6[15] === 1) return true; // ::1
  return zeros(0, 10) && v6[10] === 0xff && v6[11] === 0xff && v6[12] === 127; // ::ffff:127/104
}

export class ControlServer {
  private readonly routes: Route[] = [];
  private readonly log: Logger;
  private readonly servers: Server[] = [];
  private socketIno: number | undefined;
  private tcp: { host: string; port: number } | undefined;

  constructor(private readonly opts: ControlServerOptions) {
    this.log = opts.logger ?? nullLogger;
    if (opts.http !== undefined) parseHttpListen(opts.http); // fail at construction, not listen
    if (opts.metrics) {
      const reg = opts.metrics;
      this.get('/metrics', () => new Reply(200, reg.expose(), METRICS_CONTENT_TYPE));
    }
    this.get('/', () => ({
      endpoints: this.routes.map((r) => `${r.method} ${r.pattern}`),
    }));
  }

  /** Registers `handler` for `method` and `pattern` ("/neighbors/:address/reset"). */
  route(method: HttpMethod, pattern: string, handler: Handler): this {
    const segments = splitPath(pattern);
    if (this.routes.some((r) => r.method === method && sameShape(r.segments, segments))) {
      throw new Error(`control: route ${method} ${pattern} is already registered`);
    }
    this.routes.push({ method, pattern, segments, handler });
    return this;
  }
  get(pattern: string, handler: Handler): this {
    return this.route('GET', pattern, handler);
  }
  post(pattern: string, handler: Handler): this {
    return this.route('POST', pattern, handler);
  }
  put(pattern: string, handler: Handler): this {
    return this.route('PUT', pattern, handler);
  }
  delete(pattern: string, handler: Handler): this {
    return this.route('DELETE', pattern, handler);
  }

  /** The TCP listener's actual address (port 0 in the config picks a free port). */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.tcp;
  }

  get socketPath(): string | undefined {
    return this.opts.socket;
  }

  /** Starts the listeners. Rejects with ControlConfigError if the socket is in use. */
  async listen(): Promise<void> {
    try {
      if (this.opts.socket !== undefined) await this.listenUnix(this.opts.socket);
      if (this.opts.http !== undefined) await this.listenTcp(parseHttpListen(this.opts.http));
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Stops accepting, drops open connections and removes the socket file. */
  async close(): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    const path = this.opts.socket;
    if (path !== undefined && this.socketIno !== undefined) {
      // Only our own socket: a successor may already have replaced it.
      try {
        if (lstatSync(path).ino === this.socketIno) unlinkSync(path);
      } catch {
        /* already gone */
      }
      this.socketIno = undefined;
    }
    this.tcp = undefined;
  }

  private newServer(via: string): Server {
    const s = createServer((req, res) => void this.handle(req, res, via));
    this.servers.push(s);
    return s;
  }

  private async listenUnix(path: string): Promise<void> {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new ControlConfigError(
        `control.socket: cannot create directory ${dirname(path)}: ${(e as Error).message}`,
        'ERR_CONTROL_SOCKET_PATH',
      );
    }
    await removeStaleSocket(path);
    const s = this.newServer('unix');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(path, () => {
        s.off('error', reject);
        resolve();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      throw new ControlConfigError(
        `control.socket: cannot listen on ${path}: ${e.message}`,
        'ERR_CONTROL_SOCKET_PATH',
      );
    });
    this.socketIno = lstatSync(path).ino;
    chmodSync(path, this.opts.socketMode ?? 0o660);
  }

  private async listenTcp(addr: { host: string; port: number }): Promise<void> {
    const s = this.newServer('tcp');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(addr.port, addr.host, () => {
        s.off('error', reject);
        resolve();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      throw new ControlConfigError(
        `control.http: cannot listen on ${addr.host}:${addr.port}: ${e.message}`,
        'ERR_CONTROL_ADDRESS',
      );
    });
    const a = s.address();
    this.tcp = a && typeof a === 'object' ? { host: a.address, port: a.port } : addr;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, via: string): Promise<void> {
    const t0 = performance.now();
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const rawUrl = req.url ?? '/';
    let status = 500;
    let path = rawUrl;
    try {
      const url = new URL(rawUrl, 'http://control');
      path = url.pathname;
      const segments = decodeSegments(url.pathname);
      const matches = this.routes
        .map((r) => ({ r, params: matchRoute(r.segments, segments) }))
        .filter((m) => m.params !== undefined);
      const hit = matches.find((m) => m.r.method === method);
      if (!hit) {
        if (matches.length > 0) {
          const allow = [...new Set(matches.map((m) => m.r.method))].join(', ');
          res.setHeader('Allow', allow);
          throw new ControlError(
            405,
            `${method} is not supported on ${url.pathname} (allowed: ${allow})`,
          );
        }
        throw notFound(`no such endpoint: ${method} ${url.pathname} (GET / lists them)`);
      }
      const body = await readJsonBody(req, this.opts.maxBodyBytes ?? 1 << 20);
      const result: unknown = await hit.r.handler({
        method: method as HttpMethod,
        path: url.pathname,
        params: hit.params!,
        query: url.searchParams,
        body,
      });
      status = send(res, result);
    } catch (e) {
      status = this.sendError(res, e, req.method ?? '?', path);
    } finally {
      this.log.debug('control request', {
        via,
        method: req.method,
        path,
        status,
        ms: Math.round((performance.now() - t0) * 10) / 10,
      });
    }
  }

  private sendError(res: ServerResponse, e: unknown, method: string, path: string): number {
    let body: ApiError;
    let status: number;
    if (e instanceof ControlError) {
      status = e.status;
      body = { error: { code: e.code, message: e.message } };
    } else {
      status = 500;
      const id = randomBytes(4).toString('hex');
      this.log.error('control handler failed', {
        id,
        method,
        path,
        error: e,
        stack: (e as Error)?.stack,
      });
      body = {
        error: {
          code: 'internal',
          message: `internal error (id ${id}); the speaker's log has the details`,
          id,
        },
      };
    }
    if (res.headersSent) {
      res.destroy();
      return status;
    }
    send(res, new Reply(status, body));
    return status;
  }
}

function send(res: ServerResponse, result: unknown): number {
  if (result === undefined) {
    res.writeHead(204).end();
    return 204;
  }
  const r = result instanceof Reply ? result : new Reply(200, result);
  if (r.contentType !== undefined) {
    res.writeHead(r.status, { 'Content-Type': r.contentType }).end(String(r.body));
  } else {
    const text =
      JSON.stringify(r.body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
    res.writeHead(r.status, { 'Content-Type': 'application/json; charset=utf-8' }).end(text);
  }
  return r.status;
}

async function readJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new ControlError(413, `request body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${(e as Error).message}`);
  }
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}

function decodeSegments(pathname: string): string[] {
  return splitPath(pathname).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw badRequest(`malformed percent-encoding in path segment '${s}'`);
    }
  });
}

function matchRoute(
  pattern: readonly string[],
  path: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = path[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

function sameShape(a: readonly string[], b: readonly string[]): boolean {
  return (
    a.length === b.length &&
    a.every((s, i) => (s.startsWith(':') ? b[i]!.startsWith(':') : s === b[i]))
  );
}

/**
 * If `path` exists: a socket nobody answers on is a leftover of a crashed run and is
 * removed; a live socket means another instance is running; anything else is not ours.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new ControlConfigError(
      `control.socket: ${path} exists and is not a socket; refusing to replace it`,
      'ERR_CONTROL_SOCKET_PATH',
    );
  }
  const answer = await new Promise<'live' | 'dead' | Error>((resolve) => {
    const c = connect(path);
    const timer = setTimeout(() => {
      c.destroy();
      resolve('live'); // accepted but slow: someone holds it
    }, 1000);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve('live');
    });
    c.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 'dead' : e);
    });
  });
  if (answer === 'live') {
    throw new ControlConfigError(
      `control.socket: another process is serving on ${path} (is a nonstop speaker already running?)`,
      'ERR_CONTROL_SOCKET_IN_USE',
    );
  }
  if (answer instanceof Error) {
    throw new ControlConfigError(
      `control.socket: cannot check the existing socket ${path}: ${answer.message}`,
      'ERR_CONTROL_SOCKET_PATH',
    );
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ControlConfigError(
        `control.socket: cannot remove the stale socket ${path}: ${(e as Error).message}`,
        'ERR_CONTROL_SOCKET_PATH',
      );
    }
  }
}

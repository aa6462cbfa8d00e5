// Client of the control API, for the CLI and scripts: one request over the speaker's Unix
// socket (or http://HOST:PORT), answering with the status and the parsed JSON body. When
// the speaker cannot be reached, the error says where we looked and what to do.
import { request } from 'node:http';

export const DEFAULT_SOCKET = '/run/nonstop/speaker.sock';

export interface ControlResponse {
  status: number;
  /** The parsed body when it was JSON; undefined otherwise. */
  json: unknown;
  /** The raw body text (e.g. /metrics). */
  text: string;
}

export type ControlClientErrorCode =
  'ERR_CONTROL_UNREACHABLE' | 'ERR_CONTROL_TIMEOUT' | 'ERR_CONTROL_PROTOCOL';

export class ControlClientError extends Error {
  constructor(
    message: string,
    readonly code: ControlClientErrorCode,
  ) {
    super(message);
    this.name = 'ControlClientError';
  }
}

export interface ControlRequestOptions {
  /** Milliseconds before giving up. Default 10 000. */
  timeoutMs?: number;
}

/** Why a connection failed, in words, with a hint for the common cases. */
function describeConnectError(target: string, e: NodeJS.ErrnoException): string {
  const unix = !target.startsWith('http://');
  const start = 'is it running? start it with `nonstop speaker -c FILE`';
  switch (e.code) {
    case 'ENOENT':
      return `no such file (${start})`;
    case 'ECONNREFUSED':
      return unix
        ? `connection refused: the socket is stale (${start})`
        : `connection refused (${start}, with control.http set)`;
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (run as root or as a member of the socket file’s group)';
    case 'ENOTSOCK':
      return 'not a socket (check --socket)';
    default:
      return e.message;
  }
}

/**
 * Sends one request. `target` is a Unix socket path or "http://host:port". `path` may carry
 * a query string; `body` is sent as JSON.
 */
export async function controlRequest(
  target: string,
  method: string,
  path: string,
  body?: unknown,
  opts: ControlRequestOptions = {},
): Promise<ControlResponse> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const where = target.startsWith('http://') ? parseHttpTarget(target) : { socketPath: target };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({
      ...where,
      agent: false, // one connection per request: no pooled sockets keeping the CLI alive
      method,
      path,
      headers: {
        Accept: 'application/json',
        ...(payload === undefined
          ? {}
          : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
      },
    });
    let connected = false;
    req.setTimeout(timeoutMs, () => {
      req.destroy(
        new ControlClientError(
          `nonstop speaker at ${target} did not answer ${method} ${path} within ${timeoutMs / 1000} s`,
          'ERR_CONTROL_TIMEOUT',
        ),
      );
    });
    req.on('socket', (s) => s.once('connect', () => (connected = true)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof ControlClientError) return reject(e);
      if (!connected) {
        return reject(
          new ControlClientError(
            `cannot reach nonstop speaker at ${target}: ${describeConnectError(target, e)}`,
            'ERR_CONTROL_UNREACHABLE',
          ),
        );
      }
      reject(
        new ControlClientError(
          `connection to nonstop speaker at ${target} failed during ${method} ${path}: ${e.message}`,
          'ERR_CONTROL_PROTOCOL',
        ),
      );
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => req.destroy(e));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        if (/^application\/json/i.test(res.headers['content-type'] ?? '')) {
          try {
            json = JSON.parse(text) as unknown;
          } catch {
            return reject(
              new ControlClientError(
                `nonstop speaker at ${target} sent invalid JSON for ${method} ${path}`,
                'ERR_CONTROL_PROTOCOL',
              ),
            );
          }
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.end(payload);
  });
}

function parseHttpTarget(target: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new ControlClientError(`invalid control address '${target}'`, 'ERR_CONTROL_UNREACHABLE');
  }
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
}

/** The error message of an API error body, or a generic one. */
export function apiErrorMessage(r: ControlResponse): string {
  const e = (r.json as { error?: { message?: unknown } } | undefined)?.error;
  if (e && typeof e.message === 'string') return e.message;
  return `HTTP ${r.status}${r.text ? `: ${r.text.trim().slice(0, 200)}` : ''}`;
}

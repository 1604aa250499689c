/**
 * Where the gateway listens: its public listener (plain HTTP, or HTTPS with `server.tls`) and how it
 * reaches itself. The Responses, Messages and legacy completions APIs answer through the gateway's
 * own /v1/chat/completions (loopback.ts): over plain HTTP that is the public listener; over TLS it is
 * a second, plain listener on 127.0.0.1 that takes only requests carrying this process's random token,
 * so neither certificates nor client-certificate checks stand in the way and nobody else can use it.
 * A worker of several (`server.workers`) always has that listener, on a port of its own: through the
 * shared port its call could reach another worker (which may be the one that dies meanwhile).
 */
import cluster from 'node:cluster';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { listenOn } from '../core/listen.js';
import { Connections } from './connections.js';
import { serverOptions, type TlsMaterial } from '../core/tls.js';
import { sendError } from './http.js';
import type { HttpPost } from './providers/openai-compatible.js';

/** The header carrying the local listener's token. */
const LOOPBACK_HEADER = 'x-switchyard-loopback';

export interface Listening {
  readonly server: Server;
  /** The URL clients use, e.g. https://0.0.0.0:8443/v1. */
  readonly url: string;
  /** Where the gateway's calls to itself go. */
  readonly origin: string;
  /** `post` with what the gateway's calls to itself need (the token, over TLS). */
  ownPost(post: HttpPost): HttpPost;
  /** The public listener's connections (for a graceful stop). */
  readonly connections: Connections;
  /** Closes the local listener (after the public one has drained). */
  closeLoopback(): Promise<void>;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number, tls: TlsMaterial | undefined): Promise<Listening> {
  const server = tls ? createHttpsServer(serverOptions(tls), handler) : createServer(handler);
  const connections = new Connections(server, tls !== undefined);
  const bound = await listenOn(server, port, host, 'server.port');
  const url = `${tls ? 'https' : 'http'}://${host}:${bound}/v1`;
  if (!tls && !cluster.isWorker) {
    const origin = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${bound}`;
    return { server, url, origin, connections, ownPost: (post) => post, closeLoopback: async () => undefined };
  }
  const token = randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const ours = (v: string | string[] | undefined): boolean => {
    const got = typeof v === 'string' ? Buffer.from(v) : undefined;
    return got !== undefined && got.length === expected.length && timingSafeEqual(got, expected);
  };
  const own = createServer((req, res) => (ours(req.headers[LOOPBACK_HEADER]) ? handler(req, res) : sendError(res, 401, 'invalid_api_key', "this listener takes the gateway's own calls only")));
  const origin = `http://127.0.0.1:${await listenOn(own, 0, '127.0.0.1', 'the loopback listener', true)}`;
  return {
    server,
    url,
    origin,
    connections,
    ownPost: (post) => (u, headers, body, signal) => post(u, { ...headers, [LOOPBACK_HEADER]: token }, body, signal),
    closeLoopback: () => {
      const done = new Promise<void>((r) => own.close(() => r()));
      own.closeAllConnections();
      return done;
    },
  };
}

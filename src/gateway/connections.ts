/**
 * The connections of the gateway's listener, for a stop that cuts no client who already connected.
 * A stop closes the listener, lets the requests in flight finish, then closes every connection left.
 * A client that connected just before the stop (or was handed to this worker by its supervisor) but
 * whose request had not been read when the last request in flight finished was cut there — its first
 * request failed with a reset (seen in rolling restarts under load). So the connections that have not
 * sent a request yet are given a grace to send it (it is answered, closing its connection), while
 * keep-alive connections idle after a request are closed at once, as every HTTP client expects.
 */
import { Server as NetServer, type Server, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class Connections {
  /** Connected, no request read yet. */
  private readonly fresh = new Set<Socket>();
  /** Served a request, none in progress: keep-alive, waiting. */
  private readonly idle = new Set<Socket>();
  private onFreshGone: (() => void) | undefined;

  constructor(server: Server, tls: boolean) {
    // over TLS the HTTP connection is the TLS socket (the request's socket), after the handshake
    server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.fresh.add(s);
      s.once('close', () => {
        this.idle.delete(s);
        this.freshGone(s);
      });
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const s = req.socket;
      this.freshGone(s);
      this.idle.delete(s);
      res.once('finish', () => {
        if (!s.destroyed) this.idle.add(s);
      });
    });
  }

  /**
   * Stops `server` listening without touching its connections (http's `close()` also closes the
   * idle ones: `closeIdle` does that here); `done` runs once every connection has ended.
   */
  static stopListening(server: Server, done: () => void): void {
    if (!server.listening) return done();
    NetServer.prototype.close.call(server, () => done());
  }

  /** Closes the keep-alive connections that are waiting between requests. */
  closeIdle(): void {
    for (const s of this.idle) s.destroy();
    this.idle.clear();
  }

  /**
   * Resolves once every connection that has not yet sent a request has sent one (it is then served
   * as any request in flight) or gone, or after `graceMs`; those still silent then are closed.
   */
  async settleFresh(graceMs: number): Promise<void> {
    if (this.fresh.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.onFreshGone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onFreshGone = undefined;
    }
    for (const s of this.fresh) s.destroy();
    this.fresh.clear();
  }

  private freshGone(s: Socket): void {
    if (this.fresh.delete(s) && this.fresh.size === 0) this.onFreshGone?.();
  }
}

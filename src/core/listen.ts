/**
 * Binds a server to its port, or fails with a message naming the setting (`server.port`,
 * `--port` …) instead of an unhandled 'error' event: a port in use, one that needs privileges, or a
 * host this machine does not have.
 */
import type { AddressInfo, Server } from 'node:net';
import { invalidArgument } from './errors.js';

const WHY: Readonly<Record<string, string>> = {
  EADDRINUSE: 'is already in use (another process listens there)',
  EACCES: 'needs privileges this process does not have (ports under 1024)',
  EADDRNOTAVAIL: 'is not an address of this machine',
  ENOTFOUND: 'names a host that does not resolve',
};

/** Listens on `host:port` (0: any free port); resolves with the port bound. `field` names the setting in the error. */
/** `exclusive`: in a node:cluster worker, a port of this process's own instead of one shared by the workers. */
export function listenOn(server: Server, port: number, host: string, field: string, exclusive = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException): void => {
      const why = WHY[e.code ?? ''];
      reject(why ? invalidArgument(`${field}: ${host}:${port} ${why}`) : e);
    };
    server.once('error', failed);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

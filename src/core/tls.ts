/**
 * TLS for Switchyard's servers (`server.tls` of the gateway, `node.tls` of an edge node): the
 * certificate and key files to serve HTTPS with, and optionally a CA whose certificates clients must
 * present (mutual TLS: on the edge, only nodes holding a certificate of the swarm's CA can gossip).
 * Files are read at start (and again on the gateway's SIGHUP: renewed certificates, a new revocation
 * list); a missing or unreadable one stops the start naming its setting.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ServerOptions } from 'node:https';
import { Agent } from 'undici';
import { z } from 'zod';
import { invalidArgument } from './errors.js';

export const TlsConfigSchema = z.strictObject({
  /** PEM certificate chain of this server (relative to the config file). */
  certFile: z.string().min(1),
  /** PEM private key. */
  keyFile: z.string().min(1),
  /**
   * PEM CA certificate(s): peers' and clients' certificates are checked against it (a private CA
   * instead of the system's), and with `requireClientCert` a client must present one it signed.
   */
  caFile: z.string().min(1).optional(),
  requireClientCert: z.boolean().default(false),
  /** PEM certificate revocation list(s) of the CA (`caFile`): a client or peer certificate listed there is refused. */
  crlFile: z.string().min(1).optional(),
});
export type TlsConfig = z.infer<typeof TlsConfigSchema>;

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly crl: Buffer | undefined;
  readonly requireClientCert: boolean;
}

/** The config's file paths resolved against the config file's folder. */
export function resolveTlsPaths(tls: TlsConfig, configFile: string): TlsConfig {
  const base = dirname(resolve(configFile));
  return { ...tls, certFile: resolve(base, tls.certFile), keyFile: resolve(base, tls.keyFile), ...(tls.caFile ? { caFile: resolve(base, tls.caFile) } : {}), ...(tls.crlFile ? { crlFile: resolve(base, tls.crlFile) } : {}) };
}

/** Reads the files; `where` is the setting's path in the config (e.g. `server.tls`). */
export function loadTls(tls: TlsConfig, where: string): TlsMaterial {
  const read = (field: 'certFile' | 'keyFile' | 'caFile' | 'crlFile', file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw invalidArgument(`${where}.${field}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  if (tls.requireClientCert && !tls.caFile) throw invalidArgument(`${where}.requireClientCert: needs caFile (the CA that signs the clients' certificates)`);
  if (tls.crlFile && !tls.caFile) throw invalidArgument(`${where}.crlFile: needs caFile (the CA whose revocations it lists)`);
  return {
    cert: read('certFile', tls.certFile),
    key: read('keyFile', tls.keyFile),
    ca: tls.caFile ? read('caFile', tls.caFile) : undefined,
    crl: tls.crlFile ? read('crlFile', tls.crlFile) : undefined,
    requireClientCert: tls.requireClientCert,
  };
}

/** Options for `https.createServer`. */
export function serverOptions(t: TlsMaterial): ServerOptions {
  return { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), ...(t.crl ? { crl: t.crl } : {}), ...(t.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {}) };
}

/** An HTTP client for calls to peers: trusts the CA (when given) and presents this node's certificate (for mutual TLS). */
export function clientAgent(t: TlsMaterial): Agent {
  return new Agent({ connect: { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), ...(t.crl ? { crl: t.crl } : {}) } });
}

/** Throwaway TLS material for tests: a CA, and certificates for 127.0.0.1 it signs (openssl CLI). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  /** A certificate for 127.0.0.1 / localhost signed by the CA: its cert and key files. */
  issue(name: string): { certFile: string; keyFile: string };
  /** Revokes issued certificates; writes the CA's revocation list (every revocation so far) and returns its file. */
  revoke(...names: string[]): string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A fresh CA (P-256, valid a day) in a temporary folder. */
export function testPki(cn = 'switchyard test CA'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sy-pki-'));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${cn}`], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    issue(name) {
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', 'san.ext'], dir);
      return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    },
    revoke(...names) {
      if (!existsSync(join(dir, 'ca.cnf'))) {
        // the minimal CA database `openssl ca` keeps revocations in
        writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = own\n[own]\ndatabase = index.txt\ncertificate = ca.crt\nprivate_key = ca.key\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n');
        writeFileSync(join(dir, 'index.txt'), '');
        writeFileSync(join(dir, 'crlnumber'), '01\n');
      }
      for (const name of names) openssl(['ca', '-config', 'ca.cnf', '-revoke', `${name}.crt`], dir);
      openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem'], dir);
      return join(dir, 'crl.pem');
    },
  };
}

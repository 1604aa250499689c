/**
 * The deployment examples (Dockerfile, examples/kubernetes/switchyard.yaml) agree with the gateway:
 * the Kubernetes config parses as the gateway's config, the probes name its endpoints, the ports and
 * paths match the image's, and the grace period outlasts the drain.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readConfigFile } from '../core/config-file.js';
import { GatewayConfigSchema } from './config.js';

interface K8sDoc {
  kind: string;
  data?: Record<string, string>;
  spec?: {
    template?: { spec: { terminationGracePeriodSeconds: number; containers: Array<{ args: string[]; ports: Array<{ name: string; containerPort: number }>; readinessProbe: { httpGet: { path: string; port: string } }; livenessProbe: { httpGet: { path: string } }; volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }> }> } };
    ports?: Array<{ targetPort: string }>;
  };
}

describe('deployment examples', () => {
  const docs = parseAllDocuments(readFileSync('examples/kubernetes/switchyard.yaml', 'utf8')).map((d) => d.toJS() as K8sDoc);
  const dockerfile = readFileSync('Dockerfile', 'utf8');

  it('the Kubernetes config is a valid gateway config for the image, and its probes, ports and grace period fit the gateway', () => {
    const map = docs.find((d) => d.kind === 'ConfigMap');
    const dir = mkdtempSync(join(tmpdir(), 'sy-k8s-'));
    writeFileSync(join(dir, 'switchyard.yaml'), map?.data?.['switchyard.yaml'] ?? '');
    const config = readConfigFile(join(dir, 'switchyard.yaml'), GatewayConfigSchema, { REDIS_URL: 'redis://redis:6379', OPENAI_API_KEY: 'sk-x' });
    expect(config.server.host).toBe('0.0.0.0'); // reachable from the Service
    const pod = docs.find((d) => d.kind === 'Deployment')?.spec?.template?.spec;
    const c = pod?.containers[0];
    expect(c?.ports[0]?.containerPort).toBe(config.server.port);
    expect(c?.readinessProbe.httpGet.path).toBe('/ready');
    expect(c?.livenessProbe.httpGet.path).toBe('/health');
    expect((pod?.terminationGracePeriodSeconds ?? 0) * 1000).toBeGreaterThan(config.server.drainMs);
    // the image's command, config path and writable volume
    expect(dockerfile).toMatch(/CMD \["serve", "--config", "\/etc\/switchyard\/switchyard\.yaml"\]/);
    expect(c?.args).toEqual(['serve', '--config', '/etc/switchyard/switchyard.yaml']);
    expect(dockerfile).toContain('VOLUME /var/lib/switchyard');
    const data = c?.volumeMounts.find((m) => m.mountPath === '/var/lib/switchyard');
    expect(data?.readOnly).not.toBe(true);
    expect(config.store.outbox).toMatch(/^\/var\/lib\/switchyard\//); // the config's own folder is mounted read-only
    expect(docs.find((d) => d.kind === 'Service')?.spec?.ports?.[0]?.targetPort).toBe(c?.ports[0]?.name);
  });
});

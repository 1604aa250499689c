/**
 * An OAuth access token for Vertex AI from the Google metadata server, which GKE (Workload
 * Identity), Cloud Run and Compute Engine give every workload (`GCE_METADATA_HOST` moves it, as in
 * Google's own libraries), cached until a minute before it expires. Elsewhere, put a token in the
 * model's `apiKeyEnv` (`gcloud auth print-access-token`: it lasts an hour).
 */
import { globalFetch, Refreshing, type CredentialFetch } from './refreshing.js';

type Env = Readonly<Record<string, string | undefined>>;

export class GcpMetadataToken {
  private readonly token: Refreshing<{ token: string; expires: number }>;

  constructor(
    private readonly env: Env,
    private readonly fetchFn: CredentialFetch = globalFetch,
    private readonly now: () => number = Date.now,
  ) {
    this.token = new Refreshing((t) => t.expires, 60_000, now);
  }

  async get(): Promise<string> {
    return (await this.token.get(() => this.fetchToken())).token;
  }

  private async fetchToken(): Promise<{ token: string; expires: number }> {
    const host = this.env['GCE_METADATA_HOST'] ?? 'metadata.google.internal';
    const r = await this.fetchFn(`http://${host}/computeMetadata/v1/instance/service-accounts/default/token`, { headers: { 'metadata-flavor': 'Google' } });
    if (!r.ok) throw new Error(`the Google metadata server answered ${r.status} for a token (outside Google Cloud, set the model's apiKeyEnv to an access token)`);
    const t = (await r.json()) as { access_token?: string; expires_in?: number };
    if (!t.access_token) throw new Error('the Google metadata server gave no access_token');
    return { token: t.access_token, expires: this.now() + (t.expires_in ?? 300) * 1000 };
  }
}

/**
 * An OAuth access token for Vertex AI from the Google metadata server, which GKE (Workload
 * Identity), Cloud Run and Compute Engine give every workload (`GCE_METADATA_HOST` moves it, as in
 * Google's own libraries), cached until a minute before it expires. Elsewhere, put a token in the
 * model's `apiKeyEnv` (`gcloud auth print-access-token`: it lasts an hour).
 */
type Env = Readonly<Record<string, string | undefined>>;
type Fetch = (url: string, init: { headers: Record<string, string> }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export class GcpMetadataToken {
  private cached: { token: string; expires: number } | undefined;
  private pending: Promise<{ token: string; expires: number }> | undefined;

  constructor(
    private readonly env: Env,
    private readonly fetchFn: Fetch = globalThis.fetch as unknown as Fetch,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.cached && this.cached.expires - 60_000 > this.now()) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return (this.cached = await this.pending).token;
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

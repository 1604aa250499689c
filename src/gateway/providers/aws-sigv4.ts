/**
 * AWS Signature Version 4 for the requests the gateway sends to Bedrock, and the credentials it signs
 * with: the environment's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else
 * the container credentials endpoint that ECS tasks and EKS Pod Identity provide
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN`
 * or `_TOKEN_FILE`), else a web identity role (EKS IRSA: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`,
 * exchanged at STS), refreshed before they expire. Signing follows AWS's published algorithm:
 * canonical request → string to sign → HMAC chain of date, region and service.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { globalFetch, Refreshing, type CredentialFetch } from './refreshing.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** Unix ms after which they no longer sign (temporary credentials). */
  readonly expiration?: number | undefined;
}

const sha256 = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it: every byte but the unreserved characters. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `20150830T123600Z` and `20150830` for `time`. */
function amzDate(time: number): { stamp: string; day: string } {
  const stamp = new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return { stamp, day: stamp.slice(0, 8) };
}

/**
 * The headers that sign a request (`authorization`, `x-amz-date`, `x-amz-security-token` with
 * temporary credentials); `host` and those are the signed headers. The path's segments are encoded
 * once more (every service but S3 signs the encoded path encoded again).
 */
export function signV4(req: { readonly method: string; readonly url: URL; readonly body: string }, creds: AwsCredentials, region: string, service: string, time: number): Record<string, string> {
  const { stamp, day } = amzDate(time);
  const path = req.url.pathname.split('/').map(uriEncode).join('/') || '/';
  const query = [...req.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signed: Record<string, string> = { host: req.url.host, 'x-amz-date': stamp, ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}) };
  const names = Object.keys(signed).sort();
  const canonical = [req.method, path, query, ...names.map((n) => `${n}:${(signed[n] as string).trim()}`), '', names.join(';'), sha256(req.body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  const { host: _host, ...headers } = signed;
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** The region in a Bedrock endpoint's host (`bedrock-runtime.us-east-1.amazonaws.com`, a FIPS or VPC endpoint's too). */
export function regionOf(url: URL): string | undefined {
  return /(?:^|\.)([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com$/.exec(url.hostname)?.[1];
}

type Env = Readonly<Record<string, string | undefined>>;

/** Where the process's AWS credentials come from, cached until five minutes before they expire. */
export class AwsCredentialSource {
  private readonly temporary: Refreshing<AwsCredentials>;

  constructor(
    private readonly env: Env,
    private readonly fetchFn: CredentialFetch = globalFetch,
    private readonly now: () => number = Date.now,
  ) {
    this.temporary = new Refreshing((c) => c.expiration, 300_000, now);
  }

  async get(): Promise<AwsCredentials> {
    const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = this.env;
    if (id && secret) return { accessKeyId: id, secretAccessKey: secret, sessionToken: token };
    const source = this.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] || this.env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] ? () => this.fromContainer() : this.env['AWS_ROLE_ARN'] && this.env['AWS_WEB_IDENTITY_TOKEN_FILE'] ? () => this.fromWebIdentity() : undefined;
    if (!source) throw new Error('no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run where the container credentials endpoint (ECS, EKS Pod Identity) or a web identity role (EKS IRSA) is, or give the model a Bedrock API key (apiKeyEnv)');
    return this.temporary.get(source);
  }

  private async fromContainer(): Promise<AwsCredentials> {
    const { AWS_CONTAINER_CREDENTIALS_FULL_URI: full, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: relative } = this.env;
    const url = full || `http://169.254.170.2${relative ?? ''}`;
    const file = this.env['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'];
    const auth = file ? readFileSync(file, 'utf8').trim() : this.env['AWS_CONTAINER_AUTHORIZATION_TOKEN'];
    const r = await this.fetchFn(url, { headers: auth ? { authorization: auth } : {} });
    if (!r.ok) throw new Error(`the AWS container credentials endpoint answered ${r.status}`);
    const c = (await r.json()) as { AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
    if (!c.AccessKeyId || !c.SecretAccessKey) throw new Error('the AWS container credentials endpoint gave no keys');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token, expiration: c.Expiration ? Date.parse(c.Expiration) : undefined };
  }

  /**
   * EKS IRSA: the pod's service-account token exchanged for the role's credentials at STS
   * (AssumeRoleWithWebIdentity, unsigned; `AWS_ENDPOINT_URL_STS` moves it, else the regional endpoint).
   */
  private async fromWebIdentity(): Promise<AwsCredentials> {
    const token = readFileSync(this.env['AWS_WEB_IDENTITY_TOKEN_FILE'] as string, 'utf8').trim();
    const region = this.env['AWS_REGION'] ?? this.env['AWS_DEFAULT_REGION'];
    const endpoint = this.env['AWS_ENDPOINT_URL_STS'] ?? (region ? `https://sts.${region}.amazonaws.com` : 'https://sts.amazonaws.com');
    const form = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: this.env['AWS_ROLE_ARN'] as string, RoleSessionName: this.env['AWS_ROLE_SESSION_NAME'] ?? `switchyard-${this.now()}`, WebIdentityToken: token });
    const r = await this.fetchFn(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/xml' }, body: form.toString() });
    const xml = await r.text();
    const field = (name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
    if (!r.ok) throw new Error(`STS refused the web identity (${r.status}): ${field('Message') ?? xml.slice(0, 200)}`);
    const accessKeyId = field('AccessKeyId');
    const secretAccessKey = field('SecretAccessKey');
    if (!accessKeyId || !secretAccessKey) throw new Error('STS gave no credentials for the web identity');
    const expiration = field('Expiration');
    return { accessKeyId, secretAccessKey, sessionToken: field('SessionToken'), expiration: expiration ? Date.parse(expiration) : undefined };
  }
}

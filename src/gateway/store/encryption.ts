/**
 * Encryption at rest of the user text the store keeps (`store.encryption`): kept prompts, stored
 * responses, cached answers, the prompts in the learning log, and the outbox. AES-256-GCM with a
 * random 96-bit IV per value; a value reads `enc:v1:<key id>:<base64 of iv | tag | ciphertext>`,
 * where the key id (the first 8 hex digits of the key's SHA-256) says which key sealed it, so keys
 * can be rotated: the first key seals, the previous ones still open what they sealed. Values
 * written before encryption was turned on (no `enc:v1:` prefix) are read as they are.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { invalidArgument } from '../../core/errors.js';

const PREFIX = 'enc:v1:';

export interface Cipher {
  /** The text sealed with the current key. */
  seal(text: string): string;
  /**
   * The text of a sealed value; a value without the prefix as it is (written before encryption);
   * undefined when no configured key sealed it or it was altered (GCM's tag does not match).
   */
  open(value: string): string | undefined;
  /**
   * A stable stand-in for an identifier that must be looked up, not read (an end user's spend id):
   * an HMAC with the current key, so the store holds no end-user id in clear (a new key gives new
   * ones; `earlierPseudonyms` are the previous keys', whose spend still counts).
   */
  pseudonym(text: string): string;
  /** The pseudonyms the previous keys gave `text` (what was counted under them before a rotation). */
  earlierPseudonyms(text: string): string[];
}

/** A 32-byte key from an environment variable's value: base64 (44 characters) or hex (64). */
function keyFrom(value: string | undefined, where: string, variable: string): Buffer {
  const text = value?.trim() ?? '';
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw invalidArgument(`${where}: ${variable} ${text === '' ? 'is not set' : 'does not hold 32 bytes'}; it must hold a 32-byte key, base64 (openssl rand -base64 32) or hex`);
  return key;
}

const pseudonymWith = (key: Buffer, text: string): string => `h:${createHmac('sha256', key).update(`switchyard pseudonym\u0000${text}`).digest('base64url').slice(0, 22)}`;

const keyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

/** The cipher of `store.encryption`: `keyEnv` seals and opens, `previousKeyEnvs` only open. */
export function createCipher(config: { readonly keyEnv: string; readonly previousKeyEnvs: readonly string[] }, env: Readonly<Record<string, string | undefined>>): Cipher {
  const current = keyFrom(env[config.keyEnv], 'store.encryption.keyEnv', config.keyEnv);
  const keys = new Map<string, Buffer>([[keyId(current), current]]);
  config.previousKeyEnvs.forEach((v, i) => {
    const k = keyFrom(env[v], `store.encryption.previousKeyEnvs.${i}`, v);
    keys.set(keyId(k), k);
  });
  const id = keyId(current);
  return {
    seal(text) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return `${PREFIX}${id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    pseudonym(text) {
      return pseudonymWith(current, text);
    },
    earlierPseudonyms(text) {
      return [...keys].filter(([kid]) => kid !== id).map(([, k]) => pseudonymWith(k, text));
    },
    open(value) {
      if (!value.startsWith(PREFIX)) return value;
      const key = keys.get(value.slice(PREFIX.length, PREFIX.length + 8));
      if (!key) return undefined;
      const raw = Buffer.from(value.slice(PREFIX.length + 9), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

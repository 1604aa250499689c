/**
 * The API keys in force: the config's (`auth.keys`, reloaded on SIGHUP) and those made through the
 * admin API (admin-api.ts), kept in the store and — when replicas share it — read again every
 * `store.syncMs`, so a key made, changed or revoked on another replica counts here within that time
 * (on this one, at once). A config
 * key wins over a stored key of the same name.
 */
import type { KeyConfig } from './auth.js';
import type { GatewayStore, StoredKey } from './store/store.js';

export class KeyTable {
  private storedKeys: readonly StoredKey[] = [];
  private merged: readonly KeyConfig[] = [];
  private mergedFrom: { readonly config: readonly KeyConfig[]; readonly stored: readonly StoredKey[] } | undefined;

  constructor(
    private readonly configKeys: () => readonly KeyConfig[],
    private readonly store: GatewayStore,
  ) {}

  /** Every key that may call the gateway (one array until either source changes: lookups index it once). */
  keys(): readonly KeyConfig[] {
    const config = this.configKeys();
    if (this.mergedFrom?.config !== config || this.mergedFrom.stored !== this.storedKeys) {
      const taken = new Set(config.map((k) => k.name));
      this.merged = [...config, ...this.storedKeys.filter((k) => !taken.has(k.name)).map(asKeyConfig)];
      this.mergedFrom = { config, stored: this.storedKeys };
    }
    return this.merged;
  }

  /** The keys made through the admin API, as last read from the store. */
  stored(): readonly StoredKey[] {
    return this.storedKeys;
  }

  /** Is `name` a key of the config file? */
  inConfig(name: string): boolean {
    return this.configKeys().some((k) => k.name === name);
  }

  /** Reads the stored keys again (rejects, keeping the last ones, while the store does not answer). */
  async refresh(): Promise<void> {
    this.storedKeys = await this.store.listKeys();
  }
}

/** A stored key as a config key (the limits the gateway enforces). */
function asKeyConfig(k: StoredKey): KeyConfig {
  return {
    name: k.name,
    sha256: k.sha256,
    ...(k.dailyBudgetUsd !== undefined ? { dailyBudgetUsd: k.dailyBudgetUsd } : {}),
    ...(k.monthlyBudgetUsd !== undefined ? { monthlyBudgetUsd: k.monthlyBudgetUsd } : {}),
    ...(k.requestsPerMinute !== undefined ? { requestsPerMinute: k.requestsPerMinute } : {}),
    ...(k.tokensPerMinute !== undefined ? { tokensPerMinute: k.tokensPerMinute } : {}),
    ...(k.minLambda !== undefined ? { minLambda: k.minLambda } : {}),
    ...(k.models ? { models: [...k.models] } : {}),
  };
}

import { describe, expect, it } from 'vitest';
import { createRng } from '../core/random.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { decideRetry, DEFAULT_RETRY_POLICY, isRetryableStatus, retryAfterMs } from './retry-policy.js';

describe('retry policy', () => {
  const rng = createRng(1);
  const now = Date.parse('2026-11-22T10:00:00Z');

  it('retries 408, 409, 429, 5xx and connection failures; not 400/401/404', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504]) expect(isRetryableStatus(s), String(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 422]) expect(isRetryableStatus(s), String(s)).toBe(false);
    expect(decideRetry({ kind: 'connection-error' }, 0, DEFAULT_RETRY_POLICY, rng, now).retry).toBe(true);
    expect(decideRetry({ kind: 'response', status: 404 }, 0, DEFAULT_RETRY_POLICY, rng, now).retry).toBe(false);
  });

  it('never retries a timeout after the first byte, and stops after maxRetries', () => {
    expect(decideRetry({ kind: 'timeout', afterFirstByte: true }, 0, DEFAULT_RETRY_POLICY, rng, now).retry).toBe(false);
    expect(decideRetry({ kind: 'timeout', afterFirstByte: false }, 0, DEFAULT_RETRY_POLICY, rng, now).retry).toBe(true);
    expect(decideRetry({ kind: 'response', status: 503 }, 2, DEFAULT_RETRY_POLICY, rng, now)).toMatchObject({ retry: false, reason: 'no retries left (2)' });
  });

  it('honours retry-after-ms, retry-after seconds and HTTP dates, within a bound', () => {
    expect(retryAfterMs({ 'retry-after-ms': '250' }, now)).toBe(250);
    expect(retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'Sun, 22 Nov 2026 10:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(decideRetry({ kind: 'response', status: 429, headers: { 'retry-after': '2' } }, 0, DEFAULT_RETRY_POLICY, rng, now)).toMatchObject({ retry: true, delayMs: 2000 });
    expect(decideRetry({ kind: 'response', status: 429, headers: { 'retry-after': '3600' } }, 0, DEFAULT_RETRY_POLICY, rng, now).retry).toBe(false);
  });

  it('backs off exponentially with seeded jitter in [cap/2, cap]', () => {
    const a = [0, 1, 2, 3].map((k) => decideRetry({ kind: 'response', status: 500 }, k, { ...DEFAULT_RETRY_POLICY, maxRetries: 10 }, createRng(7), now).delayMs);
    const b = [0, 1, 2, 3].map((k) => decideRetry({ kind: 'response', status: 500 }, k, { ...DEFAULT_RETRY_POLICY, maxRetries: 10 }, createRng(7), now).delayMs);
    expect(a).toEqual(b);
    a.forEach((d, k) => {
      const cap = Math.min(8000, 500 * 2 ** k);
      expect(d).toBeGreaterThanOrEqual(cap / 2);
      expect(d).toBeLessThanOrEqual(cap);
    });
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, refuses during the cool-down, probes once, closes on success', () => {
    let t = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 }, () => t);
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    t = 1000;
    expect(b.state).toBe('half-open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // one probe at a time
    b.failure();
    expect(b.state).toBe('open');
    t = 2500;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('a success resets the failure count', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 10 }, () => 0);
    b.failure();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
  });
});

describe('prices', () => {
  it('come from @pydantic/genai-prices when the config has none; the config wins; unknown models fail clearly', async () => {
    const { lookupPrices, resolvePrices } = await import('./prices.js');
    expect(lookupPrices('gpt-4o-mini')).toMatchObject({ inputPricePerMTok: 0.15, outputPricePerMTok: 0.6 });
    expect(resolvePrices('fast', { upstreamModel: 'llama-3.1-8b-instant', priceProvider: 'groq' })).toMatchObject({ inputPricePerMTok: 0.05, outputPricePerMTok: 0.08 });
    expect(resolvePrices('gpt-4o-mini', { inputPricePerMTok: 1, outputPricePerMTok: 2 })).toMatchObject({ inputPricePerMTok: 1, outputPricePerMTok: 2, source: 'config' });
    expect(() => resolvePrices('my-finetune', {})).toThrow(/models\.my-finetune: no inputPricePerMTok/);
  });
});

describe('dynamic λ', () => {
  it('follows the schedule by UTC hour, wrapping midnight', async () => {
    const { scheduledLambda } = await import('./dynamic-lambda.js');
    const at = (h: number): number => Date.UTC(2026, 10, 22, h, 30);
    const schedule = [{ hours: '9-17', lambda: 0.2 }, { hours: '22-5', lambda: 0.9 }];
    expect(scheduledLambda(0.5, schedule, at(10))).toBe(0.2);
    expect(scheduledLambda(0.5, schedule, at(23))).toBe(0.9);
    expect(scheduledLambda(0.5, schedule, at(3))).toBe(0.9);
    expect(scheduledLambda(0.5, schedule, at(19))).toBe(0.5);
  });

  it('raises λ while spending faster than the target and lowers it again when under', async () => {
    const { LambdaController } = await import('./dynamic-lambda.js');
    const c = new LambdaController(0.3, [], { usdPerHour: 1, gain: 0.5, windowMinutes: 15 });
    let t = Date.UTC(2026, 10, 22, 12);
    for (let k = 0; k < 600; k++) c.observe(0.02, (t += 6000)); // 0.02 USD every 6 s = 12 USD/h
    const high = c.lambda(t);
    expect(c.spendRate).toBeGreaterThan(5);
    expect(high).toBeGreaterThan(0.6);
    for (let k = 0; k < 2000; k++) c.observe(0.0001, (t += 6000)); // 0.06 USD/h
    expect(c.lambda(t)).toBeLessThan(high);
    expect(c.lambda(t)).toBeGreaterThanOrEqual(0);
  });
});

describe('circuit breaker probes', () => {
  it('a half-open probe that ends in success closes the breaker (the gateway reports a 4xx answer as success)', () => {
    let t = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10 }, () => t);
    b.failure();
    t = 10;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
  });
});

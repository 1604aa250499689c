/**
 * What one request with a very long prompt costs the others: a gateway serving examples/local.yaml's
 * routes (a ridge router over in-process replay models), one chat request with a prompt of N MB, and a
 * `/health` call sent 5 ms after it — how long each took. The prompt is not in the recorded data, so
 * the answer is a 404 from the replay provider: what is measured is reading, parsing and routing it.
 * Run: npm run build && node dist/bench/long-prompt.js   (after training out/gsm8k-linear.json, README)
 */
import { spawn } from 'node:child_process';
import { waitFor } from './gateway-trio.js';

// examples/local.yaml as it is (port 8080)
const gateway = spawn(process.execPath, ['dist/src/cli/main.js', 'serve', '--config', 'examples/local.yaml'], { stdio: 'ignore' });
try {
  await waitFor('http://127.0.0.1:8080/v1/models');
  for (const mb of [0.1, 1, 4, 15]) {
    const text = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.ceil((mb * 1e6) / 57));
    const t = performance.now();
    const health = (async (): Promise<number> => {
      await new Promise((r) => setTimeout(r, 5));
      const t1 = performance.now();
      await fetch('http://127.0.0.1:8080/health');
      return performance.now() - t1;
    })();
    const r = await fetch('http://127.0.0.1:8080/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: text }] }) });
    await r.text();
    console.log(`${String(mb).padStart(4)} MB prompt: answered (${r.status}) in ${(performance.now() - t).toFixed(0)} ms; /health sent meanwhile took ${(await health).toFixed(0)} ms`);
  }
} finally {
  gateway.kill('SIGTERM');
}

/** Progress on stderr: a redrawn bar on a terminal, plain lines (every 10%) otherwise. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (done: number, total: number, label: string) => void {
  let lastDecile = -1;
  const start = Date.now();
  return (done, total, label) => {
    const frac = total === 0 ? 1 : done / total;
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round(frac * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label.padEnd(24).slice(0, 24)} ${secs}s`);
      if (done === total) stream.write('\n');
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== lastDecile || done === total) {
      lastDecile = decile;
      stream.write(`progress: ${done}/${total} (${Math.round(frac * 100)}%) ${label} ${secs}s\n`);
    }
  };
}

// `npm run test:under-load -- [--runs N] [--hogs N]`: runs `npm test` N times (default 5) in a row
// while N other processes (default 1) each keep one core busy, and prints each run's wall time and
// outcome. This is how the suite's "green while another CPU-heavy job runs beside it" figure is
// measured; a quiet run is `--hogs 0`. Exits 1 when any run failed.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, stripVTControlCharacters } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, hogs: { type: 'string', default: '1' } } });
const runs = Number(values.runs);
const hogCount = Number(values.hogs);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(hogCount) || hogCount < 0) {
  process.stderr.write('usage: npm run test:under-load -- [--runs N ≥ 1] [--hogs N ≥ 0]\n');
  process.exit(2);
}

const logs = join(root, 'test-artifacts', 'under-load');
mkdirSync(logs, { recursive: true });
const hogs: ChildProcess[] = Array.from({ length: hogCount }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopHogs = () => {
  for (const hog of hogs) hog.kill('SIGKILL');
};
process.on('SIGINT', () => {
  stopHogs();
  process.exit(130);
});

console.log(`npm test × ${runs}, beside ${hogCount} busy loop(s), on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}`);
let failed = 0;
for (let run = 1; run <= runs; run += 1) {
  const log = join(logs, `run-${run}.log`);
  const started = Date.now();
  const { code, summary } = await npmTest(log);
  const seconds = (Date.now() - started) / 1000;
  if (code !== 0) failed += 1;
  console.log(`run ${run}: ${code === 0 ? 'green' : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s; ${summary ?? 'no vitest summary'}; log ${log}`);
}
stopHogs();
console.log(`${runs - failed} of ${runs} green`);
process.exit(failed === 0 ? 0 : 1);

/** Runs `npm test`, its output into `log`; returns its exit code and vitest's "Tests" line. */
function npmTest(log: string): Promise<{ code: number; summary: string | null }> {
  return new Promise((resolve) => {
    const out = createWriteStream(log);
    const child = spawn('npm', ['test'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    const read = (chunk: Buffer) => {
      out.write(chunk);
      output += chunk.toString();
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('close', (code) => {
      // Colours off, and stripped should a tool keep them anyway.
      const plain = stripVTControlCharacters(output);
      const tests = /^\s*Tests\s+(.+)$/m.exec(plain)?.[1]?.trim();
      const vitest = /^\s*Duration\s+([0-9.]+s)/m.exec(plain)?.[1];
      const summary = tests ? `tests ${tests}${vitest ? `, vitest ${vitest}` : ''}` : null;
      out.end(() => resolve({ code: code ?? 1, summary }));
    });
  });
}

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for servers a test stops and starts again on the same port (a restart, a deploy, an issuer
 * that names its port). A port the OS handed out (`listen(0)`) lies in its ephemeral range, where
 * any outgoing connection or `listen(0)` of another test may take it while the server is down: CI
 * lost a journey to `EADDRINUSE` that way. These ports lie below that range, where only an explicit
 * bind lands, and each test worker draws from its own block, so two workers never probe one port.
 */
const lowest = 20_000;
const blockSize = 400;
/** Ports this process handed out: two asked for in a row are two ports, though neither listens yet. */
const handedOut = new Set<number>();

/** A loopback port free now, to name before a server listens (or listens again after a restart). */
export async function testPort(host = '127.0.0.1'): Promise<number> {
  const ceiling = ephemeralRangeStart();
  const blocks = Math.max(1, Math.floor((ceiling - lowest) / blockSize));
  const worker = Number(process.env.VITEST_POOL_ID ?? process.pid);
  const start = lowest + (worker % blocks) * blockSize;
  // From a random point in the block, so a worker's next file (or another run) starts elsewhere.
  const offset = Math.floor(Math.random() * blockSize);
  for (let step = 0; step < blockSize; step++) {
    const port = start + ((offset + step) % blockSize);
    if (handedOut.has(port) || !(await isFree(port, host))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${start}–${start + blockSize - 1}`);
}

/** The first port of the OS's ephemeral range: Linux says it; elsewhere IANA's 49152. */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > lowest + blockSize ? first : 49_152;
  } catch {
    return 49_152;
  }
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

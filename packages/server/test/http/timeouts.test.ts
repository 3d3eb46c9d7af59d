// Header, whole-request and idle keep-alive time are bounded: a stalled or trickled request gets a
// 408 envelope and its connection closed; the bounds come from the config file's `timeouts`.
// The bounds are whole seconds, checked by Node once a second, and waited out for real: the nodes
// start first, then the tests run side by side, so the file takes as long as its longest wait.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { type RunningServer, startServer as startNode } from '../../src/serve.js';
import { cleanupDirs, dataDir } from '../cli/harness.js';
import { type RawAnswer, rawExchange } from './raw-http.js';

const key = 'tsk_timeouts_edges_key_of_32_chars_or_more';
const servers: RunningServer[] = [];
/** Ports of nodes started before the tests: a node starting beside a running test would hold up its event loop. */
const ports = { stall: 0, headers: 0, idle: 0 };

beforeAll(async () => {
  ports.stall = await node({ headers: 1, request: 2 });
  ports.headers = await node({ headers: 1, request: 5 });
  ports.idle = await node({ idle: 1 });
});

afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  cleanupDirs();
});

async function node(timeouts: unknown): Promise<number> {
  const server = await startNode({ port: 0, host: '127.0.0.1', dataDir: dataDir(), apiKey: key, logLevel: 'silent', config: parseConfig({ timeouts }) });
  servers.push(server);
  return Number(new URL(server.url).port);
}

function expectTimeoutEnvelope(answer: RawAnswer): void {
  answer.socket.destroy();
  expect(answer.status, answer.text).toBe(408);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.body.error).toBe('request_timeout');
  expect(answer.body.request_id).toBe(answer.headers['x-request-id']);
  expect(answer.closedByServer).toBe(true);
}

const post = (length: number) =>
  `POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe.concurrent('timeouts', () => {
  it('a body that stalls gets 408 request_timeout once timeouts.request has passed, and the connection closes', async () => {
    const port = ports.stall;
    const started = Date.now();
    const answer = await rawExchange(port, [post(100), '{"user_id":'], 8_000);
    expectTimeoutEnvelope(answer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('a body trickled a byte at a time is bounded the same way', async () => {
    const port = ports.stall;
    const started = Date.now();
    const body = JSON.stringify({ user_id: 'trickle', metadata: { pad: 'x'.repeat(200) } });
    let timer: NodeJS.Timeout | undefined;
    const answer = await rawExchange(port, post(body.length), 8_000, (socket) => {
      let sent = 0;
      // A byte every 200 ms: each arrives well inside any idle timer, the whole never does.
      timer = setInterval(() => {
        if (sent < body.length && socket.writable) socket.write(body[sent++]!);
      }, 200);
    });
    clearInterval(timer);
    expectTimeoutEnvelope(answer);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('headers that never finish get 408 after timeouts.headers and the connection closes', async () => {
    const port = ports.headers;
    const started = Date.now();
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 8_000);
    expectTimeoutEnvelope(answer);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('an idle keep-alive connection is closed after timeouts.idle', async () => {
    const port = ports.idle;
    const started = Date.now();
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', 8_000);
    answer.socket.destroy();
    expect(answer.status).toBe(200);
    expect(answer.closedByServer).toBe(true);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('defaults to 10 s for headers, 30 s for the whole request, 72 s idle; each is bounded', () => {
    expect(parseConfig({}).timeouts).toEqual({ headers: 10, request: 30, idle: 72 });
    expect(parseConfig({ timeouts: { request: 60 } }).timeouts).toEqual({ headers: 10, request: 60, idle: 72 });
    for (const timeouts of [{ headers: 0 }, { request: 1e9 }, { idle: -1 }, { idle: 1.5 }, { body: 3 }]) {
      expect(() => parseConfig({ timeouts }), JSON.stringify(timeouts)).toThrow(ConfigError);
    }
  });
});

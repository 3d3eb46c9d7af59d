// Header, whole-request and idle keep-alive time are bounded: a stalled or trickled request gets a
// 408 envelope and its connection closed; the bounds come from the config file's `timeouts`.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { type RunningServer, startServer as startNode } from '../../src/serve.js';
import { cleanupDirs, dataDir } from '../cli/harness.js';
import { type RawAnswer, rawExchange } from './raw-http.js';

const key = 'tsk_timeouts_edges_key_of_32_chars_or_more';
const servers: RunningServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(() => cleanupDirs());

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

describe('timeouts', () => {
  it('a body that stalls gets 408 request_timeout once timeouts.request has passed, and the connection closes', async () => {
    const port = await node({ headers: 1, request: 2 });
    const started = Date.now();
    const answer = await rawExchange(port, [post(100), '{"user_id":'], 8_000);
    expectTimeoutEnvelope(answer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('a body trickled a byte at a time is bounded the same way', async () => {
    const port = await node({ headers: 1, request: 2 });
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
    const port = await node({ headers: 1, request: 5 });
    const started = Date.now();
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 8_000);
    expectTimeoutEnvelope(answer);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('an idle keep-alive connection is closed after timeouts.idle', async () => {
    const port = await node({ idle: 1 });
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

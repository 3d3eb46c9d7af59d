// Answers Node, Fastify or ws would write in their own words are the envelope too: 503 while shutting
// down, a bad WebSocket handshake, an Expect header the server cannot meet.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer as startNode } from '../../src/serve.js';
import { cleanupDirs, dataDir, sleep } from '../cli/harness.js';
import { send } from '../helpers.js';
import { type RawAnswer, rawExchange } from './raw-http.js';

const key = 'tsk_every_answer_key_of_32_chars_or_more';
const servers: RunningServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(() => cleanupDirs());

async function node(): Promise<{ server: RunningServer; port: number }> {
  const server = await startNode({ port: 0, host: '127.0.0.1', dataDir: dataDir(), apiKey: key, logLevel: 'silent' });
  servers.push(server);
  return { server, port: Number(new URL(server.url).port) };
}

function expectEnvelope(answer: { status: number | undefined; headers: Record<string, string>; body: any; text: string }, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.body?.error, answer.text).toBe(code);
  expect(answer.body.success).toBe(false);
  expect(answer.body.request_id).toMatch(/^req_/);
  expect(answer.body.request_id).toBe(answer.headers['x-request-id']);
}

/** The answers of a pipelined exchange, split by Content-Length. */
function splitAnswers(raw: string): { status: number; headers: Record<string, string>; text: string; body: any }[] {
  const answers = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1')) {
    const split = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, split).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    const length = Number(headers['content-length'] ?? 0);
    const text = rest.slice(split + 4, split + 4 + length);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    answers.push({ status: Number(statusLine!.split(' ')[1]), headers, text, body });
    rest = rest.slice(split + 4 + length);
  }
  return answers;
}

const upgrade = (headers: string, method = 'GET') => `${method} /v1/realtime HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n${headers}\r\n`;
const key16 = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('every answer is the envelope', () => {
  it('a request arriving while the server shuts down gets 503 service_unavailable with request_id and retry_after', async () => {
    const { server, port } = await node();
    const body = JSON.stringify({ user_id: 'in-flight' });
    const chunks: Buffer[] = [];
    const answer = await rawExchange(
      port,
      `POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      10_000,
      (socket) => {
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        void (async () => {
          await sleep(300);
          void server.close();
          await sleep(300);
          // The in-flight request finishes; one pipelined behind it arrives during the shutdown.
          socket.write(body + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        })();
      },
    );
    answer.socket.destroy();
    const [first, second] = splitAnswers(Buffer.concat(chunks).toString('utf8'));
    expect(first?.status).toBe(201);
    expectEnvelope(second!, 503, 'service_unavailable');
    expect(second!.body.retry_after).toBeGreaterThan(0);
    expect(second!.headers['retry-after']).toBe(String(second!.body.retry_after));
  });

  it.each([
    ['a wrong Sec-WebSocket-Version', upgrade(`Upgrade: websocket\r\n${key16}Sec-WebSocket-Version: 7\r\n`), 400, 'invalid_request'],
    ['a missing Sec-WebSocket-Key', upgrade('Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n'), 400, 'invalid_request'],
    ['a malformed Sec-WebSocket-Key', upgrade('Upgrade: websocket\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n'), 400, 'invalid_request'],
    [
      'a bad Sec-WebSocket-Protocol',
      upgrade(`Upgrade: websocket\r\n${key16}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n`),
      400,
      'invalid_request',
    ],
    ['POST', upgrade(`Upgrade: websocket\r\n${key16}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n`, 'POST'), 405, 'method_not_allowed'],
    ['an upgrade to h2c', upgrade('Upgrade: h2c\r\n'), 426, 'upgrade_required'],
  ])('a handshake on /v1/realtime with %s gets the envelope, not text/html, and the socket closes', async (_name, request, status, code) => {
    const { port } = await node();
    const answer: RawAnswer = await rawExchange(port, request);
    answer.socket.destroy();
    expectEnvelope(answer, status, code);
    expect(answer.closedByServer).toBe(true);
    if (code === 'upgrade_required') expect(answer.headers['upgrade']).toBe('websocket');
    if (/Version: 7/.test(request)) expect(answer.headers['sec-websocket-version']).toBe('13, 8');
  });

  it('GET /v1/realtime without an upgrade gets 426 upgrade_required', async () => {
    const { server } = await node();
    const answer = await send(`${server.url}/v1/realtime`);
    expect(answer.status).toBe(426);
    expect(answer.body.error).toBe('upgrade_required');
    expect(answer.headers.get('upgrade')).toBe('websocket');
    expect(answer.body.request_id).toBe(answer.headers.get('x-request-id'));
  });

  it('an Expect other than 100-continue gets 417 expectation_failed', async () => {
    const { port } = await node();
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nConnection: close\r\n\r\n');
    answer.socket.destroy();
    expectEnvelope(answer, 417, 'expectation_failed');
  });
});

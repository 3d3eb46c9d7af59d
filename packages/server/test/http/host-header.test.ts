// The request's Host header is the caller's to choose: nothing the server links to may come from it.
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers.js';
import { rawExchange } from './raw-http.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const evilHost = 'evil.example';

async function withHost(path: string): Promise<Awaited<ReturnType<typeof rawExchange>>> {
  const answer = await rawExchange(Number(new URL(server!.url).port), `GET ${path} HTTP/1.1\r\nHost: ${evilHost}\r\nConnection: close\r\n\r\n`);
  answer.socket.destroy();
  return answer;
}

describe('the Host header', () => {
  it('never reaches doc_url: envelopes link to the configured issuer', async () => {
    server = await startServer();
    const answer = await withHost('/no/such/route');
    expect(answer.body.error).toBe('not_found');
    expect(answer.body.doc_url).toBe('http://tessera.test/docs/errors/not_found');
  });

  it('never reaches the docs pages: their links and examples name the issuer', async () => {
    server = await startServer();
    for (const path of ['/docs/errors', '/docs/errors/not_found']) {
      const answer = await withHost(path);
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(evilHost);
      expect(answer.text).toContain('http://tessera.test/docs/errors/');
    }
  });
});

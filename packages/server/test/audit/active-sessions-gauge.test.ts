// tessera_active_sessions{flow}: counted in the store with an indexed query, at most every 5 s.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { call, send, startServer, type TestServer, testApiKey } from '../helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function gauge(s: TestServer): Promise<Record<string, number>> {
  const text = (await send(`${s.url}/metrics`)).text;
  const values: Record<string, number> = {};
  for (const match of text.matchAll(/^tessera_active_sessions\{flow="([^"]+)"\} (\d+)$/gm)) values[match[1]!] = Number(match[2]);
  return values;
}

describe('tessera_active_sessions', () => {
  it('counts active sessions per flow, 0 for a flow without any, and follows revocations and expiry within 5 s', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    server = await startServer({ clock, scheduler: new ManualClock(), config: { flows: { kiosk: { absolute_lifetime: 600, idle_timeout: null } } } });
    const s = server;
    expect(await gauge(s)).toMatchObject({ default: 0, kiosk: 0 });
    const created = [];
    for (const flow of ['default', 'default', 'default', 'kiosk']) {
      created.push((await call(`${s.url}/v1/sessions`, { body: { user_id: 'alice', flow }, token: testApiKey })).body);
    }
    // Within 5 s of the last count, a scrape answers the counted values without reading the store.
    expect(await gauge(s)).toMatchObject({ default: 0, kiosk: 0 });
    clock.advance(5);
    expect(await gauge(s)).toMatchObject({ default: 3, kiosk: 1 });
    await call(`${s.url}/v1/sessions/${created[0].session.id}`, { method: 'DELETE', token: testApiKey });
    clock.advance(600);
    // The kiosk session ended by itself, unswept: still not counted.
    expect(await gauge(s)).toMatchObject({ default: 2, kiosk: 0 });
  });

  it('keeps the last counts while the store cannot answer', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    server = await startServer({ clock, scheduler: new ManualClock() });
    const s = server;
    await call(`${s.url}/v1/sessions`, { body: { user_id: 'bob' }, token: testApiKey });
    expect((await gauge(s)).default).toBe(1);
    await s.store.close();
    await expect(s.store.countActiveSessionsByFlow(clock.now())).rejects.toThrow();
    clock.advance(10);
    const answer = await send(`${s.url}/metrics`);
    expect(answer.status).toBe(200);
    expect((await gauge(s)).default).toBe(1);
  });
});

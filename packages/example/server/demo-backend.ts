// THE DEMO BACKEND. It stands in for your app's own backend, and it signs in anyone who types a
// name: there is no password. Tessera never checks passwords; your backend does (or your identity
// provider), and only then asks Tessera for a session with its management API key. The key stays
// here, on the server; the browser only ever sees the session's tokens.
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import { tesseraFastify, type Verifier } from '@tessera/server/verifier';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DemoConfig, DemoFlow, DemoSession } from './demo-types.js';

export interface DemoBackendOptions {
  /** Where this backend reaches Tessera (server to server). */
  readonly tesseraUrl: string;
  /** The port browsers reach Tessera on, on the same host name as this app. */
  readonly tesseraPort: number;
  /** Tessera's management API key. Never sent to the browser. */
  readonly apiKey: string;
  /** Verifies the access tokens the page presents to this backend's own API. */
  readonly verifier: Verifier;
  /** The flows the sign-in form offers, first is the default. */
  readonly flows: readonly DemoFlow[];
  /** The built page (`vite build`), served at `/`; null when Vite's dev server serves it (`npm run dev`). */
  readonly webRoot: string | null;
}

const SignInBody = {
  type: 'object',
  required: ['user_name'],
  additionalProperties: false,
  properties: {
    user_name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' },
    flow: { type: 'string', maxLength: 64 },
    // The thumbprint of the browser's DPoP key, for a flow that binds sessions to it.
    dpop_jkt: { type: 'string', maxLength: 64 },
  },
} as const;

/** What the sign-in form shows for a name the schema refuses: the rule in plain words, not the validator's. */
export const userNameRule = 'A user name may contain letters, digits and . _ @ - only, up to 64 characters.';

export async function buildDemoBackend(options: DemoBackendOptions): Promise<FastifyInstance> {
  // Types as sent: a number is not a name, and an unexpected field is an error, not dropped.
  const app = Fastify({ logger: false, bodyLimit: 4096, ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  const management = (path: string, init: RequestInit = {}) =>
    fetch(`${options.tesseraUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(5000),
    });

  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy(options.tesseraPort));
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });

  app.get('/demo/config', async (): Promise<DemoConfig> => ({ tessera_port: options.tesseraPort, flows: options.flows }));

  // DEMO ONLY: a session for whatever name is typed. A real backend checks the user first.
  // attachValidation: a body the schema refuses comes here, to be answered in words a person reads.
  const signInRoute = { schema: { body: SignInBody }, attachValidation: true };
  app.post<{ Body: { user_name: string; flow?: string; dpop_jkt?: string } }>('/demo/sign-in', signInRoute, async (request, reply) => {
    if (request.validationError) {
      return reply.code(400).send({ error: 'invalid_request', message: describeRefusedSignIn(request.validationError.validation) });
    }
    const flow = request.body.flow ?? options.flows[0]?.name ?? 'default';
    if (!options.flows.some((offered) => offered.name === flow)) {
      return reply.code(400).send({ error: 'invalid_request', message: `Unknown flow "${flow}".` });
    }
    const created = await management('/v1/sessions', {
      method: 'POST',
      body: JSON.stringify({
        user_id: request.body.user_name,
        flow,
        ...(request.body.dpop_jkt ? { dpop_jkt: request.body.dpop_jkt } : {}),
        metadata: { device: deviceName(request.headers['user-agent']) },
        // The signing-in browser, as this backend sees it; Tessera keeps it up to date from each refresh.
        device: { user_agent: request.headers['user-agent']?.slice(0, 512), ip: request.ip },
      }),
    });
    // Tessera's answer as it is: 201 with the grant, or its error envelope.
    return reply
      .code(created.status)
      .type('application/json')
      .send(await created.text());
  });

  // The app's own API, guarded by the access token the page holds (verified offline, on Tessera's keys).
  await app.register(async (api) => {
    await api.register(tesseraFastify, { verifier: options.verifier });
    api.get('/demo/my-sessions', async (request, reply) => {
      const claims = request.tessera!;
      const listed = await management(`/v1/users/${encodeURIComponent(claims.sub)}/sessions`);
      if (!listed.ok)
        return reply
          .code(listed.status)
          .type('application/json')
          .send(await listed.text());
      const { sessions } = (await listed.json()) as { sessions: TesseraSession[] };
      return {
        sessions: sessions.map(
          (session): DemoSession => ({
            id: session.id,
            flow: session.flow,
            device: typeof session.metadata?.device === 'string' ? session.metadata.device : 'unknown device',
            created_at: session.created_at,
            last_refreshed_at: session.last_refreshed_at,
            current: session.id === claims.sid,
          }),
        ),
      };
    });
  });

  if (options.webRoot !== null) {
    if (!existsSync(options.webRoot)) throw new Error(`${options.webRoot} is missing: run npm run build first`);
    await app.register(fastifyStatic, { root: options.webRoot, index: 'index.html' });
  }
  return app;
}

interface TesseraSession {
  readonly id: string;
  readonly flow: string;
  readonly created_at: string;
  readonly last_refreshed_at: string | null;
  readonly metadata?: Record<string, unknown>;
}

/** The validator's complaints about a sign-in body, as one sentence: the name rule when the name is at fault. */
function describeRefusedSignIn(errors: readonly { instancePath?: string; params?: Record<string, unknown> }[]): string {
  const aboutName = errors.some((error) => error.instancePath === '/user_name' || error.params?.['missingProperty'] === 'user_name');
  if (aboutName) return userNameRule;
  return 'A sign-in is sent as { "user_name": "…", "flow": "…" }, with nothing else in it.';
}

/** The page talks to itself and to Tessera (HTTP and its socket), and nothing else. */
function contentSecurityPolicy(tesseraPort: number): string {
  const tessera = ['localhost', '127.0.0.1'].flatMap((host) => [`http://${host}:${tesseraPort}`, `ws://${host}:${tesseraPort}`]);
  return [
    "default-src 'self'",
    `connect-src 'self' ${tessera.join(' ')}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** "Chrome on Linux" from a user agent: enough to tell the user's sessions apart. */
export function deviceName(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown device';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : /^curl\//.test(userAgent)
            ? 'curl'
            : 'a browser';
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Windows/.test(userAgent)
        ? 'Windows'
        : /Mac OS X/.test(userAgent)
          ? 'macOS'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : null;
  return system ? `${browser} on ${system}` : browser;
}

import Type, { type TSchema } from 'typebox';

/**
 * What the routes answer, as JSON Schema for the OpenAPI document (`openapi.ts`). Documentation
 * only: Fastify never serializes with them, so an answer is exactly what `representation.ts` builds.
 */

/** A reference to one of the document's shared components. */
export const componentRef = (name: string): TSchema => Type.Unsafe({ $ref: `#/components/schemas/${name}` });

const Iso = Type.String({ format: 'date-time' });
const OptionalIso = Type.Union([Iso, Type.Null()]);
const OptionalString = Type.Union([Type.String(), Type.Null()]);

export const SessionAnswer = Type.Object(
  {
    id: Type.String(),
    user_id: Type.String(),
    flow: Type.String(),
    status: Type.Enum(['active', 'expired', 'revoked']),
    created_at: Iso,
    last_refreshed_at: OptionalIso,
    expires_at: Iso,
    idle_expires_at: OptionalIso,
    revoked_at: OptionalIso,
    revoked_reason: Type.Union([Type.Enum(['logout', 'admin', 'reuse_detected', 'signed_out_elsewhere']), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    device: Type.Union(
      [
        Type.Object({
          user_agent: OptionalString,
          browser: Type.Union([Type.String({ examples: ['Chrome 131'] }), Type.Null()]),
          os: Type.Union([Type.String({ examples: ['macOS'] }), Type.Null()]),
          ip: OptionalString,
        }),
        Type.Null(),
      ],
      { description: 'What the last refresh (or the backend, at creation) saw of the device; null when nothing is known.' },
    ),
    last_seen_at: Type.String({ format: 'date-time', description: 'The last refresh, or the creation.' }),
    refresh_count: Type.Integer({ minimum: 0, description: 'Refreshes that rotated its token.' }),
  },
  { description: 'The `SESSION` object: one sign-in on one device.' },
);

export const GrantAnswer = Type.Object(
  {
    session: componentRef('Session'),
    access_token: Type.String({ description: 'RFC 9068 JWT (`typ: at+jwt`) with `sid` and `flow`.' }),
    access_token_expires_at: Iso,
    refresh_token: Type.Optional(Type.String({ description: 'Single use. Absent in cookie mode with `refresh_token_in_body: false`.' })),
    refresh_token_expires_at: Iso,
    token_type: Type.Literal('Bearer'),
    server_time: Iso,
  },
  { description: 'A new access and refresh token pair, from session creation or a refresh.' },
);

export const CurrentSessionAnswer = Type.Object({ session: componentRef('Session'), server_time: Iso });
export const LogoutAnswer = Type.Object({ session: componentRef('Session') });
export const OwnSessionsAnswer = Type.Object({
  sessions: Type.Array(
    Type.Intersect([componentRef('Session'), Type.Object({ current: Type.Boolean({ description: 'The session of this access token.' }) })]),
    {
      description: 'The active ones, newest first.',
    },
  ),
});
export const LogoutOthersAnswer = Type.Object({ revoked: Type.Integer({ minimum: 0 }), session_ids: Type.Array(Type.String()) });

export const UserSessionsAnswer = Type.Object({
  sessions: Type.Array(componentRef('Session'), { description: 'One page, newest first (by creation time, then id).' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass back as `cursor`, with the same filters, for the next page; null on the last.' }),
  total: Type.Integer({ minimum: 0, description: 'How many sessions match the filters, over every page.' }),
});
export const RevokedSessionsAnswer = Type.Object({ revoked: Type.Integer({ minimum: 0 }), sessions: Type.Array(componentRef('Session')) });

export const RevocationPageAnswer = Type.Object({
  revocations: Type.Array(
    Type.Object({
      session_id: Type.String(),
      user_id: Type.String(),
      reason: Type.String(),
      revoked_at: Iso,
      access_tokens_expire_by: Iso,
    }),
  ),
  cursor: Type.String({ description: 'Pass back as `cursor` to read what came after.' }),
  server_time: Iso,
});

export const AuditPageAnswer = Type.Object({
  events: Type.Array(
    Type.Object({
      id: Type.String(),
      type: Type.String({
        description:
          '`session.created`, `session.revoked`, `session.expired`, `session.reuse_detected`, `signing_key.rotated`, `api_key.created`, `api_key.revoked`.',
      }),
      at: Iso,
      user_id: Type.Union([Type.String(), Type.Null()]),
      session_id: Type.Union([Type.String(), Type.Null()]),
      actor: Type.Object({ type: Type.Enum(['user', 'api_key', 'cli', 'system']), id: Type.String() }),
      reason: Type.Union([Type.String(), Type.Null()]),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
    { description: 'Newest first.' },
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }),
});

export const HealthAnswer = Type.Object({ status: Type.Literal('ok'), server_time: Iso });
export const ReadinessAnswer = Type.Object({
  status: Type.Literal('ready'),
  checks: Type.Object({ store: Type.Literal('ok'), migrations: Type.Literal('ok'), redis: Type.Enum(['ok', 'degraded', 'off']) }),
  server_time: Iso,
});

export const JwksAnswer = Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }, { description: 'RFC 7517 JWK Set.' });
export const AuthorizationServerMetadataAnswer = Type.Record(Type.String(), Type.Unknown(), { description: 'RFC 8414 metadata.' });

export const OAuthTokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ minimum: 0 }),
  refresh_token: Type.String(),
});
export const IntrospectionAnswer = Type.Object(
  {
    active: Type.Boolean(),
    sub: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String()),
    flow: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.Enum(['Bearer', 'DPoP', 'refresh_token'])),
    cnf: Type.Optional(Type.Object({ jkt: Type.String() }, { description: 'RFC 9449 §6: the thumbprint of the DPoP key the token is bound to.' })),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    client_id: Type.Optional(Type.String()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    jti: Type.Optional(Type.String()),
  },
  { description: 'RFC 7662: `{ "active": false }` alone for an unknown, expired or revoked token.' },
);

/** The form bodies of the OAuth endpoints, which parse them by hand (RFC 6749 §3.2: no parameter twice). */
export const OAuthTokenForm = Type.Object({
  grant_type: Type.Literal('refresh_token'),
  refresh_token: Type.String(),
  client_id: Type.Optional(Type.String()),
});
export const OAuthTokenOnlyForm = Type.Object({
  token: Type.String(),
  token_type_hint: Type.Optional(Type.Enum(['access_token', 'refresh_token'])),
  client_id: Type.Optional(Type.String()),
});

/** The contract's error envelope: every non-2xx JSON answer outside `/oauth/`. */
export const ErrorEnvelope = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String({ description: 'A stable code from the error catalogue (`/docs/errors`).' }),
    message: Type.String(),
    details: Type.Array(Type.Record(Type.String(), Type.Unknown())),
    retry_after: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Seconds; equals the `Retry-After` header when set.' }),
    doc_url: Type.String({ format: 'uri' }),
    request_id: Type.String({ description: 'Equals the `X-Request-Id` header.' }),
    timestamp: Iso,
  },
  { additionalProperties: false },
);

/** RFC 6749 §5.2 errors of `/oauth/*`: the OAuth `error`, and the envelope's fields with the catalogue code as `tessera_error`. */
export const OAuthErrorAnswer = Type.Object({
  error: Type.String({ description: 'The RFC 6749 §5.2 / RFC 7009 / RFC 7662 error.' }),
  error_description: Type.String(),
  tessera_error: Type.String({ description: 'The catalogue code (`/docs/errors`).' }),
  success: Type.Literal(false),
  message: Type.String(),
  details: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  retry_after: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  doc_url: Type.String({ format: 'uri' }),
  request_id: Type.String(),
  timestamp: Iso,
});

export const UserSearchAnswer = Type.Object({
  users: Type.Array(
    Type.Object({
      user_id: Type.String(),
      active_sessions: Type.Integer({ minimum: 0 }),
      last_created_at: Iso,
    }),
    { description: 'In user id order (code point order).' },
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }),
});

export const ActivityAnswer = Type.Object({
  active_sessions: Type.Integer({ minimum: 0, description: 'Sessions of every user neither revoked nor expired now (from the store).' }),
  minutes: Type.Array(
    Type.Object({
      start: Iso,
      sessions_created: Type.Integer({ minimum: 0 }),
      refreshes: Type.Integer({ minimum: 0 }),
      revocations: Type.Integer({ minimum: 0 }),
    }),
    { description: "This node's counts per minute, oldest first; the last is the current minute, still counting." },
  ),
  counting_since: Iso,
  server_time: Iso,
});
/** Signed webhooks (`GET /v1/webhooks/…`): what an operator and the console see of the outbox. */
export const WebhookEndpointsAnswer = Type.Object({
  endpoints: Type.Array(
    Type.Object({
      id: Type.String({ description: '`wh_` and 16 hex digits of the SHA-256 of the URL: the same on every node.' }),
      url: Type.String(),
      events: Type.Array(Type.String(), { description: 'The event types it hears.' }),
    }),
    { description: 'As configured (`webhooks` in the config file); the secret is never shown.' },
  ),
});

export const WebhookMessageAnswer = Type.Object(
  {
    id: Type.String({ description: '`msg_…`: the `webhook-id` header, the receiver’s idempotency key.' }),
    endpoint_id: Type.String(),
    event_id: Type.String({ description: 'The audit event it tells of.' }),
    type: Type.String(),
    status: Type.Enum(['pending', 'delivered', 'failed']),
    attempts: Type.Integer({ minimum: 0, description: 'Requests sent so far.' }),
    last_error: Type.Union([Type.String(), Type.Null()], { description: 'Why the last attempt failed: `HTTP 500 …`, a network error, a timeout.' }),
    created_at: Iso,
    next_attempt_at: Type.Union([Iso, Type.Null()], { description: 'When it is tried next; null once delivered or failed.' }),
    delivered_at: OptionalIso,
    failed_at: Type.Union([Iso, Type.Null()], { description: 'When it was given up on (retries used up, or its endpoint removed).' }),
    payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The body as sent: `{ type, timestamp, data }`.' }),
  },
  { description: 'One webhook message for one endpoint.' },
);

export const WebhookMessagesAnswer = Type.Object({
  messages: Type.Array(WebhookMessageAnswer, { description: 'Newest first.' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass back as `cursor` for older messages; null on the last page.' }),
});

export const WebhookRetryAnswer = Type.Object({ message: WebhookMessageAnswer });

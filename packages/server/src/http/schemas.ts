import Type from 'typebox';
import { userAgentMaxLength } from '../core/devices.js';
import { refreshTokenMaxLength } from '../core/refresh-tokens.js';

/** The signing-in device as the app's backend saw it (`http/devices.ts` checks the address is one). */
export const DeviceBody = Type.Object(
  {
    user_agent: Type.Optional(Type.String({ maxLength: userAgentMaxLength })),
    ip: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

import { auditEventTypes } from '../core/journal.js';

/** Request bodies, validated by Fastify before a handler runs; failures become `invalid_request`. */
export const CreateSessionBody = Type.Object(
  {
    // What a user id may be is the core's rule (core/user-id.ts), checked there for every caller.
    user_id: Type.String(),
    flow: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    device: Type.Optional(DeviceBody),
    // The form of a thumbprint, and whether the flow uses DPoP, are the core's rules (core/sessions.ts).
    dpop_jkt: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: refreshTokenMaxLength }) }, { additionalProperties: false });

/** Cookie mode: the refresh token may come from the cookie instead. */
export const OptionalRefreshBody = Type.Object(
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: refreshTokenMaxLength })) },
  { additionalProperties: false },
);

export const SessionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
/** The user id is checked by the core's rule (core/user-id.ts), the same as at creation. */
export const UserIdParams = Type.Object({ user_id: Type.String() });
/** A user's sessions, a page at a time; values are checked further by `user-sessions.ts` (as for the CLI). */
export const UserSessionsQuery = Type.Object(
  {
    // One `enum` rather than a union of literals: a wrong value is one field error, not four.
    status: Type.Optional(Type.Enum(['active', 'expired', 'revoked', 'all'], { description: 'By status now; default `active`.' })),
    flow: Type.Optional(Type.String({ maxLength: 64, description: 'Only sessions of this flow.' })),
    created_after: Type.Optional(Type.String({ maxLength: 64, description: 'RFC 3339 date-time: only sessions created strictly after it.' })),
    created_before: Type.Optional(Type.String({ maxLength: 64, description: 'RFC 3339 date-time: only sessions created strictly before it.' })),
    limit: Type.Optional(Type.String({ maxLength: 8, description: 'Sessions per page, 1 to 200; default 50.' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: "An earlier answer's `next_cursor`, with the same filters: the page after that one." })),
  },
  { additionalProperties: false },
);
/** The revocation feed: `cursor` as the last answer gave it; `wait` whole seconds, at most 30. */
export const RevocationsQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 32 })),
    wait: Type.Optional(Type.String({ pattern: '^([0-9]|[12][0-9]|30)$' })),
  },
  { additionalProperties: false },
);
export const AdminAssetParams = Type.Object({ file: Type.String({ maxLength: 64 }) });
export const ErrorCodeParams = Type.Object({ code: Type.String({ maxLength: 64 }) });
/** The admin console's user search: a prefix of user ids (may be empty: every user), a page size, a cursor. */
export const UserSearchQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9]|[1-9][0-9]|1[0-9][0-9]|200)$', description: '1 to 200; default 50.' })),
    cursor: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);
/** How many minutes of this node's activity: 1 to 60, default 30. */
export const ActivityQuery = Type.Object(
  { minutes: Type.Optional(Type.String({ pattern: '^([1-9]|[1-5][0-9]|60)$', description: '1 to 60; default 30.' })) },
  { additionalProperties: false },
);

/** `GET /v1/webhooks/messages`: filters, a page size of 1–200 (default 50), and the cursor of the previous page. */
export const WebhookMessagesQuery = Type.Object(
  {
    endpoint_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(Type.Enum(['pending', 'delivered', 'failed'])),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|1[0-9][0-9]|200)$', description: '1 to 200.' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);

/** `GET /v1/audit`: filters, a page size of 1–200, and the cursor an earlier page gave. */
export const AuditQuery = Type.Object(
  {
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    session_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    type: Type.Optional(Type.Enum([...auditEventTypes])),
    limit: Type.Optional(Type.String({ pattern: '^([1-9]|[1-9][0-9]|1[0-9][0-9]|200)$' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const WebhookMessageIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

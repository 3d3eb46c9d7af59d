/** What the hostile properties are made of: malformed bodies, headers, paths and methods. */
import fc from 'fast-check';

/** Keys that reach the prototype when an object is built carelessly. */
export const prototypeKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then'];

// biome-ignore lint/suspicious/noTemplateCurlyInString: hostile input, a template placeholder that must stay text
const templatePlaceholder = '${x}';

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Strings a careless edge mishandles: NUL, lone surrogates, controls, RTL marks, long, empty. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), loneSurrogate, fc.string({ maxLength: 8 })).map(([a, s, b]) => `${a}${s}${b}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '.',
      '..',
      '/',
      '%00',
      '%2e%2e',
      '\u202e',
      '\ufeff',
      '\r\n',
      '\\',
      '"',
      templatePlaceholder,
      "'; DROP TABLE sessions; --",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys) },
  { weight: 1, arbitrary: fc.integer({ min: 90, max: 600 }).map((n) => 'u'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => '\u{1F600}'.repeat(n)) },
);

/** Any JSON value, with hostile strings in it and prototype keys among its keys. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom(...prototypeKeys)), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const nested = (depth: number, kind: 'object' | 'array') =>
  kind === 'object' ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A JSON text: valid-looking bodies with wrong types, deep nesting, prototype keys, duplicates, bad text. */
export function hostileJsonText(fields: readonly string[]): fc.Arbitrary<Buffer> {
  const fieldName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys, 'is_admin', '') });
  const objectBody = fc
    .array(fc.tuple(fieldName, hostileJson), { maxLength: 4 })
    .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`);
  return fc.oneof(
    { weight: 6, arbitrary: objectBody.map((text) => Buffer.from(text, 'utf8')) },
    // A lone surrogate in raw UTF-8 (WTF-8) rather than as a JSON escape.
    {
      weight: 1,
      arbitrary: fc.constantFrom(...fields).map((field) => Buffer.concat([Buffer.from(`{"${field}":"a`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...fields), fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('object' as const, 'array' as const))
        .map(([field, depth, kind]) => Buffer.from(`{"${field}":${nested(depth, kind)}}`)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...fields), fc.constantFrom(900_000, 1_100_000, 2_500_000))
        .map(([field, size]) => Buffer.from(`{"${field}":"${'x'.repeat(size)}"}`)),
    },
    { weight: 1, arbitrary: fc.constantFrom(...fields).map((field) => Buffer.from(`{"${field}":"a","${field}":{"$ne":null},"__proto__":{"polluted":true}}`)) },
    { weight: 1, arbitrary: hostileJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', '{', '{"a":1,}', '{"a":1e99999}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', 'null', '[]', '"x"', '1'.repeat(400))
        .map((text) => Buffer.from(text)),
    },
  );
}

/** A form body (RFC 6749 / 7009 / 7662 endpoints) with hostile values, repeats and bad encoding. */
export function hostileFormText(fields: readonly string[]): fc.Arbitrary<Buffer> {
  const pair = fc.tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys, 'token[]', '__proto__[x]', '') }),
    fc.oneof(
      { weight: 3, arbitrary: hostileString.map((value) => safeEncode(value)) },
      { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%', '%00', '%ED%A0%80', '%C0%AF', 'refresh_token', 'access_token', '+') },
      { weight: 1, arbitrary: fc.constantFrom(5_000, 1_100_000).map((n) => 'y'.repeat(n)) },
    ),
  );
  return fc.array(pair, { maxLength: 5 }).map((pairs) => Buffer.from(pairs.map(([key, value]) => `${key}=${value}`).join('&'), 'latin1'));
}

/** encodeURIComponent, except that a lone surrogate goes through as its raw (WTF-8) percent bytes. */
export function safeEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value]
      .map((char) => {
        const code = char.charCodeAt(0);
        if (code >= 0xd800 && code <= 0xdfff && char.length === 1) {
          return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
        }
        return encodeURIComponent(char);
      })
      .join('');
  }
}

/** Content types for a JSON route, most of them wrong. */
export const hostileContentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 5, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json;;',
      'application/json, text/plain',
      'application/vnd.api+json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain',
      'text/html',
      '*/*',
      '',
      ' ',
      'application/json\u0000',
      'a'.repeat(2_000),
    ),
  },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** Everything the server routes, with a parameter placeholder `{}` where it takes one. */
export const routeTemplates: readonly (readonly [method: string, template: string])[] = [
  ['POST', '/v1/sessions'],
  ['GET', '/v1/sessions/{}'],
  ['DELETE', '/v1/sessions/{}'],
  ['GET', '/v1/users/{}/sessions'],
  ['DELETE', '/v1/users/{}/sessions'],
  ['GET', '/v1/revocations'],
  ['POST', '/v1/token/refresh'],
  ['GET', '/v1/session'],
  ['GET', '/v1/session/sessions'],
  ['POST', '/v1/session/logout'],
  ['POST', '/v1/session/logout-others'],
  ['GET', '/v1/audit'],
  ['GET', '/v1/realtime'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/.well-known/oauth-authorization-server'],
  ['POST', '/oauth/token'],
  ['POST', '/oauth/revoke'],
  ['POST', '/oauth/introspect'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/metrics'],
  ['GET', '/openapi.json'],
  ['GET', '/docs/errors'],
  ['GET', '/docs/errors/{}'],
  ['GET', '/admin'],
  ['GET', '/admin/{}'],
  ['GET', '/'],
];

/** Path segments: encoded traversal, overlong ids, NUL, bad percent-encoding, dots, Unicode. */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('ses_01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'alice', 'token_expired', 'index.html') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '%2e%2e',
      '%2E',
      '..%2F..%2Fetc%2Fpasswd',
      '..%5c..%5cwindows',
      '%252e%252e%252f',
      '..;',
      '%00',
      'a%00b',
      '%ZZ',
      '%',
      '%E0%A4%A',
      '%C0%AF',
      '%ED%A0%80',
      '%EF%BF%BF',
      '%F4%90%80%80',
      '%u002e',
      '%20',
      '+',
      '%2F',
      '%3F',
      '%23',
      ';jsessionid=1',
      '~',
      '%7e',
      'a b',
      '\u00e9',
      '%E2%80%AE',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(99, 100, 101, 128, 129, 200, 256, 257, 300, 8_000).map((n) => 'u'.repeat(n)) },
  { weight: 2, arbitrary: hostileString.map((value) => safeEncode(value)) },
);

/** A request target: a route with a hostile parameter, hostile extra segments or a hostile query. */
export const hostileTarget: fc.Arbitrary<{ method: string; target: string }> = fc
  .tuple(
    fc.constantFrom(...routeTemplates),
    hostileSegment,
    fc.oneof(
      { weight: 4, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom('/', '//', '/..', '/%2e%2e/%2e%2e/package.json', '/./', '%00', '?', '#frag') },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.tuple(fc.constantFrom('status', 'limit', 'cursor', 'wait', 'api_key', 'access_token', '__proto__', 'flow', 'x'), hostileSegment), {
            minLength: 1,
            maxLength: 4,
          })
          .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
      },
    ),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant<string | null>(null) },
      {
        weight: 2,
        arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'QUERY', 'get', 'FOO'),
      },
    ),
  )
  .map(([[method, template], segment, suffix, otherMethod]) => ({
    method: otherMethod ?? method,
    target: `${template.replace('{}', segment)}${suffix}`,
  }));

/** Header sets that are odd but parseable, or not parseable at all. */
export const hostileHeaders: fc.Arbitrary<{ headers: [string, string][]; body: Buffer; rawSuffix?: string }> = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constantFrom<[string, string]>(
          ['Content-Type', 'application/json'],
          ['Content-Type', 'text/plain'],
          ['Content-Type', 'application/json; charset=utf-16'],
          ['Authorization', 'Bearer'],
          ['Authorization', 'Bearer '],
          ['Authorization', 'Basic Zm9vOmJhcg=='],
          ['Authorization', 'Bearer a b c'],
          ['Authorization', `Bearer ${'A'.repeat(9_000)}`],
          ['Cookie', 'tessera_refresh=%ZZ; tessera_refresh=x'],
          ['Cookie', `a=${'b'.repeat(6_000)}`],
          ['Origin', 'null'],
          ['Origin', 'http://evil.example'],
          ['Access-Control-Request-Method', 'DELETE'],
          ['X-Forwarded-For', '1.1.1.1, not-an-ip, ::1'],
          ['X-Forwarded-Proto', 'javascript'],
          ['X-Forwarded-Host', 'evil.example'],
          ['X-Request-Id', '../../etc/passwd'],
          ['Accept', 'text/html'],
          ['Accept-Encoding', 'gzip, br, zstd, *;q=0'],
          ['Range', 'bytes=0-1,2-3,4-5'],
          ['If-None-Match', '*'],
          ['Connection', 'keep-alive, close, Upgrade-Insecure'],
          ['Keep-Alive', 'timeout=999999'],
          ['TE', 'trailers'],
          ['Host', ''],
          ['Host', 'evil.example'],
          ['Host', 'a'.repeat(300)],
          ['Host', '127.0.0.1:99999'],
          ['Host', '[::1'],
          ['Content-Length', '0'],
        ),
        fc
          .tuple(
            fc.constantFrom('X-A', 'X-Long', 'x-\u00e9', 'X_Under', 'X-Tab'),
            fc.oneof(
              fc.string({ maxLength: 30 }),
              fc.constantFrom(3_000, 9_000, 20_000).map((n) => 'v'.repeat(n)),
            ),
          )
          .map(([name, value]) => [name, value.replace(/[\r\n]/g, ' ')] as [string, string]),
      ),
      { maxLength: 6 },
    ),
    fc.constantFrom(0, 0, 0, 50, 120),
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constant<{ lengthHeaders: [string, string][]; body: (text: string) => Buffer }>({ lengthHeaders: [], body: () => Buffer.alloc(0) }),
      },
      {
        weight: 3,
        arbitrary: fc.constantFrom<{ lengthHeaders: [string, string][]; body: (text: string) => Buffer }>(
          { lengthHeaders: [['Content-Length', 'LEN']], body: (text) => Buffer.from(text) },
          {
            lengthHeaders: [
              ['Content-Length', 'LEN'],
              ['Content-Length', '1'],
            ],
            body: (text) => Buffer.from(text),
          },
          { lengthHeaders: [['Content-Length', '-1']], body: (text) => Buffer.from(text) },
          { lengthHeaders: [['Content-Length', '99999999999999999999']], body: (text) => Buffer.from(text) },
          { lengthHeaders: [['Content-Length', ' 0x10']], body: (text) => Buffer.from(text) },
          { lengthHeaders: [['Transfer-Encoding', 'chunked']], body: (text) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`) },
          { lengthHeaders: [['Transfer-Encoding', 'chunked']], body: (text) => Buffer.from(`zz\r\n${text}\r\n0\r\n\r\n`) },
          { lengthHeaders: [['Transfer-Encoding', 'chunked']], body: (text) => Buffer.from(`${'f'.repeat(20)}\r\n${text}\r\n0\r\n\r\n`) },
          {
            lengthHeaders: [
              ['Transfer-Encoding', 'chunked'],
              ['Content-Length', 'LEN'],
            ],
            body: (text) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`),
          },
          {
            lengthHeaders: [['Transfer-Encoding', 'chunked, chunked']],
            body: (text) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`),
          },
          {
            lengthHeaders: [['Transfer-Encoding', 'gzip, chunked']],
            body: (text) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`),
          },
          {
            lengthHeaders: [
              ['Transfer-Encoding', 'chunked'],
              ['Transfer-Encoding', 'identity'],
            ],
            body: (text) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`),
          },
          {
            lengthHeaders: [['Transfer-Encoding', ' chunked']],
            body: (text) => Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`),
          },
          { lengthHeaders: [['Transfer-Encoding', 'xchunked']], body: (text) => Buffer.from(text) },
          { lengthHeaders: [['Transfer-Encoding', 'identity']], body: (text) => Buffer.from(text) },
        ),
      },
    ),
    fc.constantFrom<string | undefined>(
      undefined,
      undefined,
      undefined,
      'obs-fold',
      'bare-lf',
      'nul-in-header',
      'space-before-colon',
      'many-headers',
      'huge-header-block',
    ),
  )
  .map(([headers, _bodyKind, framing, quirk]) => {
    const text = '{"user_id":"h","refresh_token":"rt_x"}';
    const all: [string, string][] = [['Host', '127.0.0.1'], ...headers];
    for (const [name, value] of framing.lengthHeaders) all.push([name, value === 'LEN' ? String(Buffer.byteLength(text)) : value]);
    let rawSuffix: string | undefined;
    if (quirk === 'obs-fold') rawSuffix = 'X-Folded: a\r\n  b';
    if (quirk === 'bare-lf') rawSuffix = 'X-Bare: a\nX-Other: b';
    if (quirk === 'nul-in-header') rawSuffix = 'X-Nul: a\u0000b';
    if (quirk === 'space-before-colon') rawSuffix = 'Content-Length : 5';
    if (quirk === 'many-headers') rawSuffix = Array.from({ length: 2_100 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    if (quirk === 'huge-header-block') rawSuffix = `X-Huge: ${'h'.repeat(70_000)}`;
    return { headers: all, body: framing.body(text), ...(rawSuffix ? { rawSuffix } : {}) };
  });

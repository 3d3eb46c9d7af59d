import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, parseConfig } from '../src/config.js';

function problemsOf(input: unknown): string {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('config: rate_limits, cors, cookie, trust_proxy', () => {
  it('defaults: limits on, no CORS origin, cookie mode off, no proxy trusted', () => {
    expect(defaultConfig.rateLimits).toEqual({
      refreshPerToken: { limit: 30, window: 60 },
      refreshPerIp: { limit: 1200, window: 60 },
      managementPerKey: { limit: 6000, window: 60 },
      revokePerIp: { limit: 600, window: 60 },
      apiKeyFailuresPerIp: { limit: 30, window: 60 },
      socketsPerIp: 500,
      redisKeyPrefix: 'tessera:ratelimit:',
    });
    expect(parseConfig({})).toEqual(defaultConfig);
  });

  it('reads every section', () => {
    const config = parseConfig({
      rate_limits: {
        refresh_per_token: { limit: 5, window: 10 },
        refresh_per_ip: null,
        revoke_per_ip: { limit: 7, window: 30 },
        api_key_failures_per_ip: null,
        sockets_per_ip: 50,
        redis_key_prefix: 'app1:',
      },
      cors: { origins: ['https://app.example', 'http://localhost:5173'], max_age: 60 },
      cookie: { enabled: true, same_site: 'lax', refresh_token_in_body: false },
      trust_proxy: 1,
    });
    expect(config.rateLimits).toEqual({
      refreshPerToken: { limit: 5, window: 10 },
      refreshPerIp: null,
      managementPerKey: { limit: 6000, window: 60 },
      revokePerIp: { limit: 7, window: 30 },
      apiKeyFailuresPerIp: null,
      socketsPerIp: 50,
      redisKeyPrefix: 'app1:',
    });
    expect(config.cors).toEqual({ origins: ['https://app.example', 'http://localhost:5173'], maxAge: 60 });
    expect(config.cookie).toMatchObject({ enabled: true, sameSite: 'lax', secure: true, path: '/v1/token/refresh', refreshTokenInBody: false });
    expect(config.trustProxy).toBe(1);
  });

  it('names unknown keys and bad values', () => {
    expect(problemsOf({ rate_limits: { refresh_per_tokn: { limit: 1, window: 1 } } })).toContain('rate_limits.refresh_per_tokn: unknown key');
    expect(problemsOf({ rate_limits: { refresh_per_ip: { limit: 0, window: 60 } } })).toContain('rate_limits.refresh_per_ip');
    expect(problemsOf({ cors: { origins: ['https://app.example'], credentials: true } })).toContain('cors.credentials: unknown key');
    expect(problemsOf({ cookie: { enabled: true, same_site: 'none' } })).toContain('cookie.same_site');
    expect(problemsOf({ cookie: { enabled: true, path: '/x; Domain=evil' } })).toContain('cookie.path');
    expect(problemsOf({ cookie: { enabled: true, name: 'a=b' } })).toContain('cookie.name');
  });

  it("a flow's DPoP settings: the words each may be, said when another is given", () => {
    expect(parseConfig({ flows: { bound: { dpop: 'required', dpop_misuse: 'refuse' } } }).flows['bound']).toMatchObject({
      dpop: 'required',
      dpopMisuse: 'refuse',
    });
    expect(parseConfig({}).flows['default']).toMatchObject({ dpop: 'off', dpopMisuse: 'revoke' });
    expect(problemsOf({ flows: { bound: { dpop: 'on' } } })).toContain('flows.bound.dpop: must be one of: "off", "allowed", "required"');
    expect(problemsOf({ flows: { bound: { dpop_misuse: true } } })).toContain('flows.bound.dpop_misuse: must be one of: "revoke", "refuse"');
  });

  it('origins must be origins exactly as browsers send them', () => {
    expect(problemsOf({ cors: { origins: ['https://app.example/'] } })).toContain(
      'cors.origins.0: https://app.example/ must be an origin exactly as browsers send it (https://app.example)',
    );
    expect(problemsOf({ cors: { origins: ['*'] } })).toContain('cors.origins.0: * is not a URL');
    expect(problemsOf({ cors: { origins: ['https://ok.example', 'ftp://files.example'] } })).toContain('cors.origins.1: ftp://files.example must be http(s)');
    expect(problemsOf({ cors: { origins: ['https://App.Example'] } })).toContain('(https://app.example)');
  });

  it('a body without the refresh token needs cookie mode', () => {
    expect(problemsOf({ cookie: { enabled: false, refresh_token_in_body: false } })).toContain('cookie.refresh_token_in_body');
  });
});

describe('config: every number has a bound a deployment would accept', () => {
  const flow = (values: Record<string, unknown>) => ({ flows: { default: values } });

  it('the largest accepted values are accepted', () => {
    const config = parseConfig({
      flows: { long: { access_token_ttl: 86_400, idle_timeout: 315_360_000, absolute_lifetime: 315_360_000, reuse_interval: 3_600 } },
      body_limit: 64 * 1024 * 1024,
      rate_limits: { refresh_per_token: { limit: 1_000_000_000, window: 86_400 }, sockets_per_ip: 1_000_000 },
      cors: { origins: [], max_age: 86_400 },
      trust_proxy: 64,
    });
    expect(config.flows['long']).toEqual({
      accessTokenTtl: 86_400,
      idleTimeout: 315_360_000,
      absoluteLifetime: 315_360_000,
      reuseInterval: 3_600,
      dpop: 'off',
      dpopMisuse: 'revoke',
    });
  });

  it.each([
    // ~8.7e12 s made every create a 500 after the row was stored (the date is past what Date can show).
    ['flows.default.absolute_lifetime', flow({ absolute_lifetime: 8.7e12 }), 'must be at most 315360000 (10 years)'],
    ['flows.default.absolute_lifetime', flow({ absolute_lifetime: 315_360_001 }), 'must be at most 315360000 (10 years)'],
    ['flows.default.idle_timeout', flow({ idle_timeout: 1e300 }), 'must be at most 315360000 (10 years)'],
    ['flows.default.access_token_ttl', flow({ access_token_ttl: 86_401 }), 'must be at most 86400 (1 day)'],
    // A huge reuse interval would silently turn reuse detection off.
    ['flows.default.reuse_interval', flow({ reuse_interval: 1e12 }), 'must be at most 3600 (1 hour)'],
    ['cors.max_age', { cors: { origins: [], max_age: 1e300 } }, 'must be at most 86400 (1 day)'],
    ['body_limit', { body_limit: 1e15 }, 'must be at most 67108864 (64 MiB)'],
    ['rate_limits.refresh_per_ip.window', { rate_limits: { refresh_per_ip: { limit: 5, window: 1e9 } } }, 'must be at most 86400 (1 day)'],
    ['rate_limits.refresh_per_ip.limit', { rate_limits: { refresh_per_ip: { limit: 1e18, window: 60 } } }, 'must be at most 1000000000'],
    ['rate_limits.sockets_per_ip', { rate_limits: { sockets_per_ip: 1e10 } }, 'must be at most 1000000'],
    ['trust_proxy', { trust_proxy: 1e6 }, 'must be at most 64'],
  ])('refuses %s out of bounds, saying the bound', (key, input, message) => {
    expect(problemsOf(input)).toContain(`${key}: ${message}`);
  });
});

describe('config: a value that fails a union is told what it meant', () => {
  it('a bound alone, not every branch of the union', () => {
    expect(problemsOf({ flows: { default: { idle_timeout: 1e300 } } })).toBe(
      'Invalid config:\n  flows.default.idle_timeout: must be at most 315360000 (10 years)',
    );
    expect(problemsOf({ rate_limits: { refresh_per_ip: { limit: 1e18, window: 60 } } })).toBe(
      'Invalid config:\n  rate_limits.refresh_per_ip.limit: must be at most 1000000000',
    );
    expect(problemsOf({ trust_proxy: 1e6 })).toBe('Invalid config:\n  trust_proxy: must be at most 64');
  });

  it('the types it may have, when it has none of them', () => {
    expect(problemsOf({ flows: { default: { idle_timeout: 'x' } } })).toBe(
      'Invalid config:\n  flows.default.idle_timeout: must be integer\n  flows.default.idle_timeout: must be null',
    );
  });
});

describe('config: values that must mean something', () => {
  it('trust_proxy entries are addresses, CIDR ranges or proxy-addr names', () => {
    const config = parseConfig({ trust_proxy: ['10.0.0.1', '10.0.0.0/8', '10.0.0.0/255.0.0.0', '::1', 'fd00::/8', 'loopback', 'linklocal', 'uniquelocal'] });
    expect(config.trustProxy).toHaveLength(8);
    expect(problemsOf({ trust_proxy: ['not-an-ip'] })).toContain(
      'trust_proxy.0: not-an-ip is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal',
    );
    expect(problemsOf({ trust_proxy: ['10.0.0.0/33'] })).toContain('trust_proxy.0: 10.0.0.0/33');
    expect(problemsOf({ trust_proxy: ['::1/129'] })).toContain('trust_proxy.0: ::1/129');
    expect(problemsOf({ trust_proxy: ['10.0.0.1', '10.0.0.0/x'] })).toContain('trust_proxy.1: 10.0.0.0/x');
  });

  it.each([
    ['javascript:alert(1)', 'must be an http(s) URL'],
    ['not a url', 'must be an absolute http(s) URL'],
    ['/relative', 'must be an absolute http(s) URL'],
    ['ftp://auth.example', 'must be an http(s) URL'],
    ['https://auth.example/?tenant=1', 'must have no query or fragment'],
    ['https://auth.example/#x', 'must have no query or fragment'],
    ['https://user:pass@auth.example', 'must have no user name or password'],
  ])('issuer %s is refused', (issuer, message) => {
    expect(problemsOf({ issuer })).toContain(`issuer: ${message}`);
  });

  it('an issuer with a path is accepted as given', () => {
    expect(parseConfig({ issuer: 'https://auth.example/tenant-a' }).issuer).toBe('https://auth.example/tenant-a');
    expect(parseConfig({ issuer: 'http://localhost:4000' }).issuer).toBe('http://localhost:4000');
  });
});

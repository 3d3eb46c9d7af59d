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

  it('origins must be origins exactly as browsers send them', () => {
    expect(problemsOf({ cors: { origins: ['https://app.example/'] } })).toContain('cors.origins.0: https://app.example/ must be an origin exactly as browsers send it (https://app.example)');
    expect(problemsOf({ cors: { origins: ['*'] } })).toContain('cors.origins.0: * is not a URL');
    expect(problemsOf({ cors: { origins: ['https://ok.example', 'ftp://files.example'] } })).toContain('cors.origins.1: ftp://files.example must be http(s)');
    expect(problemsOf({ cors: { origins: ['https://App.Example'] } })).toContain('(https://app.example)');
  });

  it('a body without the refresh token needs cookie mode', () => {
    expect(problemsOf({ cookie: { enabled: false, refresh_token_in_body: false } })).toContain('cookie.refresh_token_in_body');
  });
});

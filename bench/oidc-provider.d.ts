// The slice of oidc-provider@9's API the peer benchmark uses (the package ships no types).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface Client {
    readonly clientId: string;
  }

  export interface Grant {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  /** A refresh or access token before it is saved; `save` stores it and answers its value. */
  export interface Token {
    save(): Promise<string>;
  }

  export interface TokenFields {
    readonly accountId: string;
    readonly client: Client;
    readonly grantId: string;
    readonly scope: string;
    readonly resource?: string;
    readonly gty?: string;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    /** The Koa app as a Node request listener. */
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly Client: { find(id: string): Promise<Client | undefined> };
    readonly Grant: new (fields: {
      accountId: string;
      clientId: string;
    }) => Grant;
    readonly RefreshToken: new (
      fields: TokenFields,
    ) => Token;
    readonly AccessToken: new (
      fields: TokenFields,
    ) => Token;
  }
}

declare module 'oidc-provider/lib/helpers/lru.js' {
  /** The provider's own store for its memory adapter: two generations of `maxSize` entries each. */
  export default class LRU {
    constructor(options: { maxSize: number });
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  import type LRU from 'oidc-provider/lib/helpers/lru.js';

  /** The provider's development adapter: every model in one in-process LRU store. */
  export default class MemoryAdapter {
    constructor(model: string, store?: LRU, clockTolerance?: number);
  }
}

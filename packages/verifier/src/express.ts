import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AccessTokenClaims } from './access-token-check.js';
import { verifierErrorResponse } from './error-response.js';
import { TesseraError } from './errors.js';
import { type PublicUrl, publicUrlOf } from './public-url.js';
import { createVerifier, type Verifier, type VerifierOptions } from './verifier.js';

export type TesseraExpressOptions = (VerifierOptions | { readonly verifier: Verifier }) & {
  /**
   * The URL clients address this app by, for DPoP proofs; by default `req.protocol`, `req.host` and
   * `req.originalUrl`, which follow Express's `trust proxy` setting (Express 5: on Express 4 `req.host`
   * has no port, so give this there).
   */
  readonly publicUrl?: PublicUrl<IncomingMessage>;
};

/** An Express request once `tesseraExpress` let it through. */
export interface TesseraRequest extends IncomingMessage {
  tessera?: AccessTokenClaims;
}

/** What Express adds to Node's request and the middleware reads, when it is there. */
interface ExpressRequestParts {
  readonly protocol?: unknown;
  readonly host?: unknown;
  readonly originalUrl?: unknown;
}

/**
 * Express (or Connect) middleware that requires a valid Tessera access token and answers failures
 * with the Tessera envelope. Claims are on `req.tessera`. Tokens bound to a DPoP key are checked
 * with the request's `DPoP` proof, against its method and public URL (see `publicUrl`). Typed on
 * Node's HTTP types, so Express is not a dependency.
 *
 * @example
 * ```ts
 * app.use('/api', tesseraExpress({ issuer: 'https://auth.example.com', audience: 'tessera' }));
 * app.get('/api/me', (req, res) => res.json({ user: (req as TesseraRequest).tessera!.sub }));
 * ```
 */
export function tesseraExpress(options: TesseraExpressOptions) {
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  const urlOf = (req: IncomingMessage): string => {
    const express = req as IncomingMessage & ExpressRequestParts;
    const path = typeof express.originalUrl === 'string' ? express.originalUrl : (req.url ?? '/');
    if (options.publicUrl !== undefined) return publicUrlOf(options.publicUrl, req, path);
    const protocol = typeof express.protocol === 'string' ? express.protocol : (req.socket as TLSSocket).encrypted ? 'https' : 'http';
    const host = typeof express.host === 'string' ? express.host : req.headers.host;
    return `${protocol}://${host ?? ''}${path}`;
  };
  return (req: TesseraRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    verifier.verifyRequest({ authorization: req.headers.authorization, dpop: req.headers.dpop, method: req.method ?? 'GET', url: urlOf(req) }).then(
      (claims) => {
        req.tessera = claims;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof TesseraError)) return next(error);
        const answer = verifierErrorResponse(error, verifier.issuer, verifier.clock.now());
        res.statusCode = answer.status;
        for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(answer.body));
      },
    );
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTokenClaims } from './access-token-check.js';
import { verifierErrorResponse } from './error-response.js';
import { TesseraError } from './errors.js';
import { createVerifier, type Verifier, type VerifierOptions } from './verifier.js';

export type TesseraExpressOptions = VerifierOptions | { readonly verifier: Verifier };

/** An Express request once `tesseraExpress` let it through. */
export interface TesseraRequest extends IncomingMessage {
  tessera?: AccessTokenClaims;
}

/**
 * Express (or Connect) middleware that requires a valid Tessera access token and answers failures
 * with the Tessera envelope. Claims are on `req.tessera`. Typed on Node's HTTP types, so Express is
 * not a dependency.
 *
 * @example
 * ```ts
 * app.use('/api', tesseraExpress({ issuer: 'https://auth.example.com', audience: 'tessera' }));
 * app.get('/api/me', (req, res) => res.json({ user: (req as TesseraRequest).tessera!.sub }));
 * ```
 */
export function tesseraExpress(options: TesseraExpressOptions) {
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  return (req: TesseraRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    verifier.verifyAuthorization(req.headers.authorization).then(
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

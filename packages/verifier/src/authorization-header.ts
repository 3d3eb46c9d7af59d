/** The access token of an `Authorization` header and the scheme it came with. */
export interface AccessTokenCredential {
  /** `bearer` (RFC 6750) or `dpop` (RFC 9449 §7.1): a `dpop` token comes with a proof in the `DPoP` header. */
  readonly scheme: 'bearer' | 'dpop';
  /** The token; '' when the header names the scheme and nothing after it. */
  readonly token: string;
}

/**
 * The access token of an `Authorization` header: `Bearer <token>` or `DPoP <token>`, the scheme in
 * any case (RFC 9110 §11.1). Undefined when there is no header, or it names another scheme.
 */
export function accessTokenCredentialOf(header: string | string[] | undefined): AccessTokenCredential | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^(Bearer|DPoP)[ ]+(.*)$/i.exec(header);
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'dpop' : 'bearer', token: match[2]!.trim() };
}

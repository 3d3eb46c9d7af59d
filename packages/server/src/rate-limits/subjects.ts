import { createHash } from 'node:crypto';

// The subjects a limit counts, as both edges name them: the HTTP API per token, key and client,
// the realtime gateway per client.

/** A secret (refresh token, API key) as a counter key: hashed, so Redis never holds one. */
export function secretSubject(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 32);
}

/**
 * The client a per-IP limit counts: an IPv4 address as is (IPv4-mapped IPv6 unwrapped), an IPv6
 * address by its /64, since one subscriber commonly holds a whole /64 and could rotate through it.
 */
export function clientSubject(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const address = ip.split('%')[0]!.toLowerCase();
  const [head = '', tail] = address.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])));
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((group) => (Number.parseInt(group, 16) || 0).toString(16));
  return `${prefix.join(':')}::/64`;
}

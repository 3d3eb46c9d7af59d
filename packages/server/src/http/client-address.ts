import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { TesseraConfig } from '../config.js';

/**
 * The client's address as the config's `trust_proxy` has it, for requests Fastify does not see (socket
 * upgrades): `X-Forwarded-For` read from trusted hops only, the way Fastify reads it for `request.ip`.
 * Undefined when no proxy is trusted: the connection's peer is the client.
 */
export function clientAddressResolver(trust: TesseraConfig['trustProxy']): ((request: IncomingMessage) => string) | undefined {
  if (trust === false) return undefined;
  const trusted = trust === true ? () => true : typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : proxyAddr.compile([...trust]);
  return (request) => proxyAddr(request, trusted);
}

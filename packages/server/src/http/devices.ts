import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import UAParser from 'ua-parser-js';
import { userAgentMaxLength } from '../core/devices.js';
import { TesseraError } from '../core/errors.js';
import type { SessionDevice } from '../core/session.js';
import type { DeviceBody } from './schemas.js';

type AgentDescription = Pick<SessionDevice, 'browser' | 'os'>;

/**
 * Parsed user agents, by their text. Parsing one takes 20–40 µs of regular expressions (ua-parser-js
 * 1.0, measured on this machine), and a refresh would pay it every time; a user base has few
 * distinct agents, so most refreshes find theirs here. Bounded: the oldest entry goes first.
 */
const described = new Map<string, AgentDescription>();
const describedLimit = 1000;

/** The browser ("Chrome 131") and OS ("macOS") a user agent names; null for what it does not tell. */
export function describeUserAgent(userAgent: string): AgentDescription {
  const cached = described.get(userAgent);
  if (cached) return cached;
  const { browser, os } = new UAParser(userAgent).getResult();
  const description: AgentDescription = {
    browser: browser.name ? [browser.name, browser.major].filter(Boolean).join(' ') : null,
    os: os.name ? (osNames[os.name] ?? os.name) : null,
  };
  if (described.size >= describedLimit) described.delete(described.keys().next().value as string);
  described.set(userAgent, description);
  return description;
}

/** ua-parser-js 1.0 still says "Mac OS" (2.0 says "macOS", but is AGPL-licensed). */
const osNames: Record<string, string> = { 'Mac OS': 'macOS' };

/**
 * The device making this request: its `User-Agent` (cut to a storable length: a refresh is not refused
 * for a long one) and its address as `trust_proxy` has it (Fastify's `request.ip`).
 */
export function requestDevice(request: FastifyRequest): SessionDevice {
  const header = request.headers['user-agent'];
  const userAgent = header ? header.slice(0, userAgentMaxLength) : null;
  return { userAgent, ...(userAgent === null ? { browser: null, os: null } : describeUserAgent(userAgent)), ip: plainAddress(request.ip) };
}

/** The `device` the app's backend passed at creation; `invalid_request` for an address that is none. */
export function bodyDevice(device: Static<typeof DeviceBody> | undefined): SessionDevice | undefined {
  if (!device) return undefined;
  const userAgent = device.user_agent || null;
  const ip = device.ip ?? null;
  if (ip !== null && isIP(ip) === 0) {
    throw new TesseraError('invalid_request', {
      message: 'The device ip is not an IP address.',
      details: [{ field: 'device.ip', message: 'must be an IPv4 or IPv6 address' }],
    });
  }
  return { userAgent, ...(userAgent === null ? { browser: null, os: null } : describeUserAgent(userAgent)), ip: ip === null ? null : plainAddress(ip) };
}

/** An IPv4 client seen through a dual-stack socket reads `::ffff:203.0.113.7`: shown as the IPv4 address it is. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

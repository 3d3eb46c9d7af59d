import { TesseraError } from './errors.js';
import type { SessionDevice } from './session.js';
import { storableTextProblem } from './storable-text.js';

/** The longest user agent a session keeps, in UTF-16 units: real ones are a few hundred at most. */
export const userAgentMaxLength = 512;

/**
 * What a session's device looks like after a request from it: a request that shows a user agent
 * replaces the stored one (with the browser and OS read from it), else the stored one stays; its
 * address replaces the stored address. Null when nothing is known.
 */
export function deviceSeen(stored: SessionDevice | null, seen: SessionDevice | undefined): SessionDevice | null {
  if (!seen) return stored;
  const agent = seen.userAgent === null ? stored : seen;
  const device: SessionDevice = {
    userAgent: agent?.userAgent ?? null,
    browser: agent?.browser ?? null,
    os: agent?.os ?? null,
    ip: seen.ip ?? stored?.ip ?? null,
  };
  return knownDevice(device);
}

/** The device, or null when none of it is known. */
export function knownDevice(device: SessionDevice): SessionDevice | null {
  const { userAgent, browser, os, ip } = device;
  return userAgent === null && browser === null && os === null && ip === null ? null : device;
}

/** Throws `invalid_request` naming the field unless every part of `device` can be stored as given. */
export function assertStorableDevice(device: SessionDevice): void {
  const fields = { user_agent: device.userAgent, browser: device.browser, os: device.os, ip: device.ip };
  for (const [field, value] of Object.entries(fields)) {
    const problem = value === null ? undefined : storableTextProblem(value);
    if (problem) {
      throw new TesseraError('invalid_request', { message: `The device ${field} ${problem}.`, details: [{ field: `device.${field}`, message: problem }] });
    }
  }
}

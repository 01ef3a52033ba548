/**
 * Room passwords (XEP-0045 §7.2.6, §10.2): whether a room is locked, and a constant-time check
 * of the password a joining user gives.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface PasswordSettings {
  passwordProtected: boolean;
  password: string;
}

/** A room is locked when it is marked password-protected and has a non-empty secret. */
export function isPasswordProtected(config: PasswordSettings): boolean {
  return config.passwordProtected && config.password !== '';
}

/** Compares digests, so neither the length nor a common prefix of the secret leaks through timing. */
export function passwordMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

import { secretsEqual } from "../ingest/webhook.ts";

/** A refused admin request: the status and the message the caller gets. */
export interface AuthRefusal {
  status: 401 | 429;
  error: string;
  /** Seconds until the caller may try again (429). */
  retryAfter?: number;
}

/**
 * Hook for brute-force protection (issue 8): asked before the token is compared and told each
 * outcome. Without one, every attempt is compared (in constant time) and nothing is counted.
 */
export interface AuthAttemptGuard {
  /** A refusal while `peer` is locked out, else undefined. */
  check(peer: string): AuthRefusal | undefined;
  record(peer: string, accepted: boolean): void;
}

export const BEARER_HINT = "send the header Authorization: Bearer <the value of ADMIN_TOKEN>";

/** Checks `Authorization: Bearer <ADMIN_TOKEN>`; undefined when the request may go on. */
export function checkAdminToken(adminToken: string | undefined, authorization: string | null, peer: string, guard?: AuthAttemptGuard): AuthRefusal | undefined {
  if (adminToken === undefined) {
    return { status: 401, error: "the admin API is disabled: set ADMIN_TOKEN (a long random string) in timbre's environment, restart, then " + BEARER_HINT };
  }
  const locked = guard?.check(peer);
  if (locked) return locked;
  const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? "");
  const accepted = match !== null && secretsEqual(match[1], adminToken);
  guard?.record(peer, accepted);
  if (accepted) return undefined;
  return { status: 401, error: match === null ? `missing bearer token: ${BEARER_HINT}` : `wrong bearer token: it must equal ADMIN_TOKEN; ${BEARER_HINT}` };
}

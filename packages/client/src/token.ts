/** The claims of a JWT, read without verifying it (only the service can verify). */
function claimsOf(token: string): { sub?: unknown; exp?: unknown } | null | undefined {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return undefined;
  }
}

/**
 * The `sub` claim of a JWT, or undefined when `token` is not a JWT with a string `sub`. Tabs use
 * it to share a connection only with tabs of the same user.
 */
export function subjectOf(token: string): string | undefined {
  const sub = claimsOf(token)?.sub;
  return typeof sub === 'string' && sub ? sub : undefined;
}

/**
 * When a JWT expires (its `exp` claim, in epoch ms), or undefined when `token` is not a JWT with
 * a numeric `exp`. The client refreshes its token in place before then.
 */
export function expiryOf(token: string): number | undefined {
  const exp = claimsOf(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/**
 * The `sub` claim of a JWT, read without verifying it (only the service can verify), or
 * undefined when `token` is not a JWT with a string `sub`. Tabs use it to share a connection only
 * with tabs of the same user.
 */
export function subjectOf(token: string): string | undefined {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return typeof claims?.sub === 'string' && claims.sub ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

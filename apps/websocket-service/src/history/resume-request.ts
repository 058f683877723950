import { EPOCH_PATTERN, resumeParams } from '@huleedu/ws-protocol';

/**
 * What a handshake asks of the history, from the query parameters of `GET /ws`:
 * - `resume`: `position` (and `epoch`, unless the position is 0) given: where the client was;
 *   it is sent what came after. `epoch` is `''` when the client knew no epoch (its history was
 *   empty when it was last synced).
 * - `first`: no position: a first connect, which also gets the last `recent` messages.
 */
export type ResumeRequest =
  | { readonly kind: 'resume'; readonly position: number; readonly epoch: string }
  | { readonly kind: 'first'; readonly recent: number };

/** Result of {@link parseResumeRequest}: the request, or what is wrong in words a person can act on. */
export type ParsedResumeRequest =
  | { readonly ok: true; readonly request: ResumeRequest }
  | { readonly ok: false; readonly problem: string };

/** A position: decimal digits, at most 15 (well within a double's exact integers). */
const POSITION = /^\d{1,15}$/;
/** A count: decimal digits; any length, since a large `recent` is lowered to the cap. */
const COUNT = /^\d+$/;

/**
 * Reads `position`, `epoch` and `recent` from a request target such as
 * `/ws?token=...&position=17&epoch=k3j`. A blank parameter counts as absent. Refused (for a 1008
 * `resume_invalid`): a parameter given twice, a position or `recent` that is not a whole number
 * >= 0, an epoch that does not match `EPOCH_PATTERN`, an epoch without a position, a position
 * above 0 without an epoch. `recent` above `recentMax` is lowered to `recentMax`; on a resume it
 * is checked but unused.
 */
export function parseResumeRequest(requestUrl: string, recentMax: number): ParsedResumeRequest {
  const query = requestUrl.indexOf('?');
  if (query === -1 || !mayNameResumeParams(requestUrl, query + 1)) return FIRST_CONNECT;
  const params = new URLSearchParams(requestUrl.slice(query + 1));
  const values: Partial<Record<'position' | 'epoch' | 'recent', string>> = {};
  for (const [key, name] of [
    ['position', resumeParams.POSITION],
    ['epoch', resumeParams.EPOCH],
    ['recent', resumeParams.RECENT],
  ] as const) {
    const given = params.getAll(name).filter((value) => value !== '');
    if (given.length > 1) return refused(`${name} is given ${given.length} times`);
    if (given[0] !== undefined) values[key] = given[0];
  }
  const { position, epoch, recent } = values;
  if (recent !== undefined && !COUNT.test(recent)) {
    return refused(`${resumeParams.RECENT} must be a whole number >= 0, got ${quote(recent)}`);
  }
  if (position === undefined) {
    if (epoch !== undefined) {
      return refused(`${resumeParams.EPOCH} is given without ${resumeParams.POSITION}`);
    }
    const wanted = recent === undefined ? 0 : Number(recent);
    return { ok: true, request: { kind: 'first', recent: Math.min(wanted, recentMax) } };
  }
  if (!POSITION.test(position)) {
    return refused(`${resumeParams.POSITION} must be a whole number >= 0, got ${quote(position)}`);
  }
  if (epoch !== undefined && !EPOCH_PATTERN.test(epoch)) {
    return refused(`${resumeParams.EPOCH} must match ${EPOCH_PATTERN.source}, got ${quote(epoch)}`);
  }
  const at = Number(position);
  if (epoch === undefined && at > 0) {
    return refused(`${resumeParams.POSITION} ${at} is given without ${resumeParams.EPOCH}`);
  }
  return { ok: true, request: { kind: 'resume', position: at, epoch: epoch ?? '' } };
}

/** A first connect without `recent`: what most handshakes ask for, shared by all of them. */
const FIRST_CONNECT: ParsedResumeRequest = Object.freeze({
  ok: true,
  request: Object.freeze({ kind: 'first', recent: 0 }),
});

/**
 * Whether the query from `from` on may hold a resume parameter: it names one, or it has a
 * percent-escape (a name could be spelled escaped). Most handshakes name none, and skip parsing.
 */
function mayNameResumeParams(requestUrl: string, from: number): boolean {
  return (
    requestUrl.includes('%', from) ||
    requestUrl.includes(resumeParams.POSITION, from) ||
    requestUrl.includes(resumeParams.EPOCH, from) ||
    requestUrl.includes(resumeParams.RECENT, from)
  );
}

function refused(problem: string): ParsedResumeRequest {
  return { ok: false, problem };
}

/** A client-supplied value for a log line: quoted, and cut short. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

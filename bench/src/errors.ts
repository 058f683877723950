/** What went wrong in a bench run, as a machine-readable code. */
export type BenchErrorCode =
  | 'bad_option'
  | 'target_failed'
  | 'loadgen_failed'
  | 'timeout'
  | 'publish_failed'
  | 'docs_marker_missing';

/** An error a person can act on: a code and a message that names the bad value or the step. */
export class BenchError extends Error {
  /** Machine-readable reason. */
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string) {
    super(message);
    this.name = 'BenchError';
    this.code = code;
  }
}

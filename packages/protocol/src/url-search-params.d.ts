/**
 * `URLSearchParams` is a global in every runtime this package supports (browsers, Node.js); the
 * build compiles without DOM or Node types, so the one part of it the package uses is declared here.
 */
declare class URLSearchParams {
  constructor(init?: string);
  get(name: string): string | null;
}

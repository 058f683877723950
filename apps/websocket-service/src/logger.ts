import { pino } from 'pino';

/** Log levels accepted by `LOG_LEVEL` (pino's levels). */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link logLevels}. */
export type LogLevel = (typeof logLevels)[number];

/** The service's structured logger (pino). */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /**
   * Where JSON lines go; standard output unless given (tests pass a stream). Standard output is
   * written synchronously, as Node itself writes pipes and files on Linux: pino's asynchronous
   * default can still hold a line in flight when the process exits, and `process.exit` then
   * writes the lines after it first (a shutdown's `stopped` line ahead of the `worker exited`
   * logged before it) or drops it.
   */
  readonly destination?: pino.DestinationStream;
}

/**
 * A JSON-lines logger. The service never logs request URLs (the query string carries the JWT)
 * nor request headers (`Sec-WebSocket-Protocol` carries it too); the redaction below is a second
 * line of defence for fields that might one day hold one.
 */
export function createLogger(options: LoggerOptions): Logger {
  const config: pino.LoggerOptions = {
    level: options.level,
    base: { service: 'websocket-service', pid: process.pid },
    redact: {
      paths: [
        'token',
        'url',
        'query',
        '*.token',
        '*.url',
        '*.query',
        'req',
        '*.req',
        'headers',
        '*.headers',
        // The header that carries the bearer subprotocol (`huleedu.bearer.<JWT>`).
        '["sec-websocket-protocol"]',
        '*["sec-websocket-protocol"]',
        'protocols',
        '*.protocols',
      ],
      censor: '[redacted]',
    },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(config, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

import { pino } from 'pino';
import type { LogLevel } from './config.js';

/** The service's structured logger (pino). */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where JSON lines go; standard output unless given (tests pass a stream). */
  readonly destination?: pino.DestinationStream;
}

/**
 * A JSON-lines logger. The service never logs request URLs (the query string carries the JWT);
 * the redaction below is a second line of defence for fields that might one day hold one.
 */
export function createLogger(options: LoggerOptions): Logger {
  const config: pino.LoggerOptions = {
    level: options.level,
    base: { service: 'websocket-service', pid: process.pid },
    redact: {
      paths: ['token', 'url', 'query', '*.token', '*.url', '*.query', 'req', '*.req', 'headers'],
      censor: '[redacted]',
    },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

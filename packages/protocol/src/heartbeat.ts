/**
 * Application-level heartbeat, for clients that cannot see WebSocket protocol pings (browsers).
 *
 * The client sends the 4-byte text frame `ping`; the service answers at once with the text frame
 * `pong`. Neither is JSON, so neither can be mistaken for a notification envelope (always a JSON
 * object). A client that has heard nothing (no pong, no notification) for about two of its own
 * heartbeat intervals treats the connection as dead and replaces it. The service treats any
 * inbound frame as a sign of life too.
 */
export const heartbeat = {
  /** Text frame a client sends to ask for a sign of life. */
  PING: 'ping',
  /** Text frame the service answers with. */
  PONG: 'pong',
} as const;

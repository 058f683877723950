/** What a heartbeat needs: how often to ping, how to ping, and whom to tell when the line is dead. */
export interface HeartbeatOptions {
  /** Time between pings, in ms. */
  intervalMs: number;
  /** Sends one `ping` text frame. */
  sendPing: () => void;
  /** Called once when a ping went a whole interval without any frame in reply. */
  onDead: () => void;
}

/** A running heartbeat on one socket. */
export interface Heartbeat {
  /** Records that a frame (pong or notification) arrived: the line is alive. */
  heard(): void;
  /** Stops pinging; `onDead` is not called afterwards. */
  stop(): void;
}

/**
 * Pings every `intervalMs`; the line is dead when a tick finds the previous ping still
 * unanswered. A frozen service (no FIN, TCP looks fine) is noticed within two intervals.
 * Judging by the unanswered ping, not by raw silence, keeps background tabs (whose timers the
 * browser slows to once a minute) from being declared dead just because they pinged late.
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { intervalMs, sendPing, onDead } = options;
  let awaitingReply = false;
  const timer = setInterval(() => {
    if (awaitingReply) {
      clearInterval(timer);
      onDead();
      return;
    }
    awaitingReply = true;
    sendPing();
  }, intervalMs);
  return {
    heard() {
      awaitingReply = false;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

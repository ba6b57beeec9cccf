/**
 * Every long-lived object (servers, timers, connections, devices) implements Startable.
 * Contract: `start()` may be called once; `stop()` is idempotent, may be called before or after
 * `start()` completed, releases every fd/timer/socket the object holds, and never throws.
 */
export interface Startable {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

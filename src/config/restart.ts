/** When to restart a driver that exits on its own. */
export interface RestartPolicy {
  /** `never` (default) or `on-failure` (a non-zero exit code or a signal). */
  policy: 'never' | 'on-failure';
  /** First delay before a restart; doubles with each consecutive failure. Default 200 ms. */
  delay: number;
  /** The longest delay. Default 10 s. */
  maxDelay: number;
  /** Consecutive failures (crashes or failed starts) after which the driver is given up (never a service). Default 5. */
  maxRestarts: number;
}

export const DEFAULT_RESTART: RestartPolicy = {
  policy: 'never',
  delay: 200,
  maxDelay: 10_000,
  maxRestarts: 5,
};

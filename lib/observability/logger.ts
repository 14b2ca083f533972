/** The logging surface lib/ needs; Moleculer's service logger and pino both satisfy it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** For callers that want no log lines (a rebuild run from a script, tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

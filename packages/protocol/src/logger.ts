/**
 * The logging surface every package takes (pino's, narrowed): fixed message
 * strings plus a fields object. Libraries receive one; only `main.ts` files
 * create one.
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, string | number | boolean>): Logger;
}

/** A logger that drops everything (tests that do not care about logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

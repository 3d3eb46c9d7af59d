/** Where the core reports what an operator should know; pino's logger fits as it is. */
export interface Log {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Says nothing: the default for tests and one-shot commands. */
export const silentLog: Log = {
  info: () => {},
  warn: () => {},
  error: () => {},
};

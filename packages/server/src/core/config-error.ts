/**
 * Thrown when the config file is unreadable or names a bad key; the message says which. The operator's
 * to fix: the CLI prints it on one line and exits 2. Beside the other errors, below the config, so the
 * stores (which raise it for a bad database URL) need not import the config file's parser.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

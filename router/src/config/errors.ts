/** A config file problem: names the file, the key path and (when known) the line. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly path: readonly (string | number)[],
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(`${file}${line !== null ? `:${line}` : ''}: ${path.length > 0 ? `${formatPath(path)}: ` : ''}${reason}`);
    this.name = 'ConfigError';
  }
}

/** routes[0].plugins[1].config.key */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : /^[A-Za-z_][\w-]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** For the CLI: a ConfigError ends the process with its one-line message and exit code 2. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`zeroproxy router: config error: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

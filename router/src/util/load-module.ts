/**
 * Loading a user's module by file path: a `--handler` module (cli/worker-command.ts) or a custom
 * plugin file (router/src/plugins/loader.ts).
 */
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

/**
 * Imports the module at `absolutePath`. A .ts file outside an ESM package is compiled as CommonJS by
 * tsx and cannot be import()ed from here; tsx's own loader handles that case. When both fail, throws
 * `cannot load <what> <absolutePath>: <first line of the import() error>`.
 */
export async function importUserModule(absolutePath: string, what: string): Promise<{ default?: unknown }> {
  const url = pathToFileURL(absolutePath).href;
  try {
    return (await import(url)) as { default?: unknown };
  } catch (err) {
    try {
      return (await tsImport(url, import.meta.url)) as { default?: unknown };
    } catch {
      throw new Error(`cannot load ${what} ${absolutePath}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

/**
 * The module's default export if `accept` takes it; else, for CommonJS interop (`export default`
 * compiled to CJS arrives as { default: { default: x } }), the inner one if `accept` takes that.
 */
export function defaultExport<T>(mod: { default?: unknown }, accept: (value: unknown) => value is T): T | undefined {
  if (accept(mod.default)) return mod.default;
  const inner = (mod.default as { default?: unknown } | null | undefined)?.default;
  return accept(inner) ? inner : undefined;
}

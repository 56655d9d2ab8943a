/**
 * Loads a custom plugin from a file path: its default export must be a PluginDefinition
 * ({ name, schema, create }). TypeScript files load through tsx, as `--handler` modules do.
 */
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { PluginDefinition } from './types.ts';

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  const v = value as Partial<PluginDefinition> | null;
  return v !== null && typeof v === 'object' && typeof v.name === 'string' && typeof v.create === 'function' && typeof v.schema === 'object';
}

/** Throws an Error with a one-line reason when the file cannot be loaded or exports no plugin. */
export async function loadPluginFile(absolutePath: string): Promise<PluginDefinition> {
  const url = pathToFileURL(absolutePath).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    try {
      mod = (await tsImport(url, import.meta.url)) as { default?: unknown };
    } catch {
      throw new Error(`cannot load plugin file ${absolutePath}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const inner = (mod.default as { default?: unknown } | undefined)?.default;
  const def = isPluginDefinition(mod.default) ? mod.default : inner;
  if (!isPluginDefinition(def)) throw new Error(`plugin file ${absolutePath} has no default export { name, schema, create }`);
  return def;
}

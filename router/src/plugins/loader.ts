/**
 * Loads a custom plugin from a file path: its default export must be a PluginDefinition
 * ({ name, schema, create }). TypeScript files load through tsx, as `--handler` modules do.
 */
import { defaultExport, importUserModule } from '../util/load-module.ts';
import type { PluginDefinition } from './types.ts';

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  const v = value as Partial<PluginDefinition> | null;
  return v !== null && typeof v === 'object' && typeof v.name === 'string' && typeof v.create === 'function' && typeof v.schema === 'object';
}

/** Throws an Error with a one-line reason when the file cannot be loaded or exports no plugin. */
export async function loadPluginFile(absolutePath: string): Promise<PluginDefinition> {
  const mod = await importUserModule(absolutePath, 'plugin file');
  const def = defaultExport(mod, isPluginDefinition);
  if (!def) throw new Error(`plugin file ${absolutePath} has no default export { name, schema, create }`);
  return def;
}

/** The built-in plugins by name (the registry the config refers to with `plugin: <name>`). */
import { fanoutPlugin } from './fanout.ts';
import { rewritePlugin } from './rewrite.ts';
import { shardPlugin } from './shard.ts';
import type { PluginDefinition } from './types.ts';

export const BUILTIN_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map([
  [shardPlugin.name, shardPlugin],
  [rewritePlugin.name, rewritePlugin],
  [fanoutPlugin.name, fanoutPlugin],
]);

/** Response headers as a handler may give them: a flat [name, value, …] list or a plain object. */
import type { HeaderList } from '../../proto/src/index.ts';

export type ResponseHeaders = HeaderList | Record<string, string | readonly string[] | number | undefined>;

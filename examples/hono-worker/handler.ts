/** The same Hono app as a `zeroproxy worker --handler` module: the default export is `app.fetch`. */
import { app } from './app.ts';

export default app.fetch;

/**
 * The public API of ldsup: `defineConfig` for `supervisor.config.ts` (full types and editor
 * completion for every setting and hook), the types hooks and apps receive, and the LaunchDarkly
 * helpers for apps that build their own client inside an ldsup worker.
 */
import type { AppExport, SupervisorConfig } from './types.js';

export type * from './types.js';

/** Identity function that gives a config object its type. `export default defineConfig({...})`. */
export function defineConfig<T extends SupervisorConfig>(config: T): T {
  return config;
}

/** Identity function that types an app module's default export. */
export function defineApp<T extends AppExport>(app: T): T {
  return app;
}

export { ldOptions, ldSdkKey } from './launchdarkly/index.js';

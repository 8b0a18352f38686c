import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The suite drives the built CLI (`bin/toolgate.js` → `dist/`); `npm test` builds first. */
export default function setup(): void {
  const dist = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  if (!existsSync(dist)) {
    throw new Error(
      'dist/ is missing: run the suite with `npm test` (it builds first), or `npm run build` before `vitest`.',
    );
  }
}

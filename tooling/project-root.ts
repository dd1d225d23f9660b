/** The repository's root directory, for dev and test tooling that runs from source (never bundled into dist/). */
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

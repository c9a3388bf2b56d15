// Placeholder until the Workers project lands: an empty project so that `vitest --project node` runs.
import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { name: 'workers', include: ['test/workers/**/*.test.ts'], passWithNoTests: true } });

import { defineConfig } from 'drizzle-kit';

// Only used to generate migrations (`npm run db:generate`); applying them is db/migrate.ts's job.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});

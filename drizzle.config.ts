/** drizzle-kit settings: `npx drizzle-kit generate` writes a migration for changes to the schema (docs/storage.md). */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/repository/schema.ts',
  out: './src/repository/migrations',
});

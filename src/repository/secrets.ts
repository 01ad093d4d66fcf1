/** Server-generated secrets shared by every replica through the database. */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from './db.ts';
import { serverSecrets } from './schema.ts';

/**
 * Returns the secret called `name`, creating a random 32-byte one the first
 * time. Concurrent first calls on several replicas agree: the insert that
 * loses the race does nothing and everyone reads the winner.
 */
export async function serverSecret(database: Database, name: string): Promise<Buffer> {
  await database.db
    .insert(serverSecrets)
    .values({ name, value: randomBytes(32).toString('base64') })
    .onConflictDoNothing();
  const [row] = await database.db.select({ value: serverSecrets.value }).from(serverSecrets).where(eq(serverSecrets.name, name));
  if (!row) throw new Error(`server secret ${name} could not be created`);
  return Buffer.from(row.value, 'base64');
}

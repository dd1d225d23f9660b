// `npm run db:migrate`: applies migrations to DATABASE_URL, or to the embedded PGlite under DATA_DIR.
import { loadConfigOrExit } from '../runtime/config';
import { openDatabase } from './client';
import { migrateDatabase } from './migrate';

const config = loadConfigOrExit();
const database = await openDatabase(config.database);
try {
  await migrateDatabase(database);
  console.log(`migrations applied to ${database.kind} at ${database.location}`);
} finally {
  await database.close();
}

import { createPgliteDb, type Db } from '@engine/registry';
import { registrySuite } from './support/registry-suite';

describe('registry on PGlite (single-machine mode)', () => {
  let db: Db;
  beforeAll(async () => {
    db = await createPgliteDb();
  });
  afterAll(async () => {
    await db.close();
  });
  // PGlite is one in-process connection: the "second process" is the same database handle,
  // so the concurrency tests check that interleaved callers still get one row / one migration.
  registrySuite({ db: () => db, second: async () => db });
});

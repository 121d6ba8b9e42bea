import { createPgDb, type Db } from '@engine/registry';
import { registrySuite } from '../packages/registry/test/support/registry-suite';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';

describe('registry on PostgreSQL (pg pool)', () => {
  let db: Db;
  beforeAll(() => {
    db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 4 });
  });
  afterAll(async () => {
    await db.close();
  });
  // The "second process" is a separate pool with its own connections; the suite closes it.
  registrySuite({ db: () => db, second: async () => createPgDb({ connectionString: TEST_DATABASE_URL, max: 2 }) });
});

import { createPgDb, type Db } from '@engine/registry';
import { registrySuite } from '../packages/registry/test/support/registry-suite';

/** The real PostgreSQL of the test machine (trust auth); each test uses and drops its own schema. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('registry on PostgreSQL (pg pool)', () => {
  let db: Db;
  const extra: Db[] = [];
  beforeAll(() => {
    db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 4 });
  });
  afterAll(async () => {
    await Promise.all(extra.map((d) => d.close()));
    await db.close();
  });
  registrySuite({
    db: () => db,
    second: async () => {
      const d = createPgDb({ connectionString: TEST_DATABASE_URL, max: 2 });
      return d;
    },
  });
});

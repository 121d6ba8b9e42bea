import { EngineError, TransientError } from '@engine/shared';
import { createPgDb, type Db } from '@engine/registry';
import { registrySuite } from './support/registry-suite';
import { TEST_DATABASE_URL } from './support/pg';

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

describe('PostgreSQL unreachable', () => {
  test('is a transient error (the job retries), with the statement but no credentials in the message', async () => {
    const db = createPgDb({ connectionString: 'postgres://engine:s3cret@127.0.0.1:1/test', connectionTimeoutMillis: 2000 });
    try {
      const err = await db.query('SELECT 1').then(
        () => null,
        (e: unknown) => e as EngineError,
      );
      expect(err).toBeInstanceOf(TransientError);
      expect(err?.code).toBe('DB_UNAVAILABLE');
      expect(err?.message).toContain('SELECT 1');
      expect(err?.message).not.toContain('s3cret');
      await expect(db.transaction(async (tx) => tx.query('SELECT 1'))).rejects.toBeInstanceOf(TransientError);
    } finally {
      await db.close();
    }
  });
});

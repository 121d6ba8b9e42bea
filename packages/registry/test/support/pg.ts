/** The real PostgreSQL of the test machine (trust auth); each test uses and drops its own schema. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

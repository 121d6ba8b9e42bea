/**
 * @engine/dashboard: Bull Board plus the model registry pages, behind a login.
 * `createDashboard` builds the express app; `main.ts` runs it as a service.
 */
export { createDashboard, QUEUES_PATH, type Dashboard, type DashboardOptions } from './dashboard';
export { allowedHosts, authMode, hostAllowed, SESSION_COOKIE, type AuthMode } from './auth/auth';
export { hashPasswordLine, MIN_PASSWORD_LENGTH, UserDirectory } from './auth/users';
export { SessionCodec, safeEqual } from './auth/session';
export { BundleReader, type BundleSources } from './bundle-reader';
export { readEquity, readFolds, readImportance, drawdown, type EquityData, type Importance } from './bundle-data';
export { CATALOG_QUEUES, openCatalogQueues, listFailedJobs, retryFailedJob, type FailedJob } from './queues';
export { startDashboard, type RunningDashboard } from './service';
export * from './plot';

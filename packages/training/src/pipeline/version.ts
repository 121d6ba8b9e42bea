/** The engine version recorded in every manifest (kept equal to packages/training/package.json by a test). */
export const ENGINE_VERSION = '0.1.0';

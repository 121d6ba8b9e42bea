import type { z } from 'zod';

/**
 * A zod error as `path: message` lines (e.g. `trading_params.cooldown_seconds: Too small:
 * expected number to be >=0`), at most `limit` of them, so a reader can say exactly what
 * is wrong and where. `root` names the value itself when the problem has no path
 * (`(manifest)`, `(golden.json)`).
 */
export function schemaProblems(error: z.ZodError, root: string, limit = 20): string[] {
  const issues = error.issues;
  const problems = issues.slice(0, limit).map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : root}: ${i.message}`);
  if (issues.length > limit) problems.push(`… and ${issues.length - limit} more`);
  return problems;
}

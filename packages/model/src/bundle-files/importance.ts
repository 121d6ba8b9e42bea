import { z } from 'zod';

/** `importance.json`: the final model's feature importance, ranked by gain (then name). */
export const importanceFileSchema = z
  .object({
    /** The model file the importance is of. */
    model: z.string(),
    features: z.array(z.object({ name: z.string(), gain: z.number(), splits: z.number().int().min(0) }).strict()),
  })
  .strict();
export type ImportanceFile = z.infer<typeof importanceFileSchema>;

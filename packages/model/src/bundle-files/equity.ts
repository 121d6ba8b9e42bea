import { z } from 'zod';

const iso = z.iso.datetime();

/**
 * `equity.json`: the out-of-sample equity curve of the walk-forward — one point per trade
 * in time order (each fold traded by its own model and threshold), the folds' test
 * windows, and the daily P&L the Sharpe ratio is computed from.
 */
export const equityFileSchema = z
  .object({
    description: z.string(),
    /** Unit of `equity_gbp` and `pnl_gbp`. */
    currency: z.literal('GBP'),
    fold_boundaries: z.array(z.object({ fold: z.number().int().min(0), test_start: iso, test_end: iso }).strict()),
    points: z.array(
      z
        .object({
          /** Exit time of the trade. */
          exit: iso,
          fold: z.number().int().min(0),
          net_bps: z.number(),
          equity_gbp: z.number(),
          equity_bps: z.number(),
          exit_reason: z.enum(['none', 'tp', 'sl', 'time', 'agent']),
        })
        .strict(),
    ),
    daily: z.array(z.object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), pnl_gbp: z.number(), trades: z.number().int().min(0) }).strict()),
  })
  .strict();
export type EquityFile = z.infer<typeof equityFileSchema>;

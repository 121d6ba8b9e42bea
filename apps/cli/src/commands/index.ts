import type { Command } from 'commander';
import { registerDashboardCommands } from './dashboard';
import { registerModelsCommands } from './models';
import { registerCandlesCommands } from './candles';
import { registerFeaturesCommands } from './features';
import { registerFleetCommands } from './fleet';
import { registerBenchCommands } from './bench';
import { registerTrainCommands } from './train';
import { registerSweepCommands } from './sweep';
import { registerCompareCommands } from './compare';
import { registerReplayCommands } from './replay';

/** Each command group registers itself here; one line per group. */
export function registerCommands(program: Command): void {
  registerDashboardCommands(program);
  registerModelsCommands(program);
  registerCandlesCommands(program);
  registerFeaturesCommands(program);
  registerFleetCommands(program);
  registerBenchCommands(program);
  registerTrainCommands(program);
  registerSweepCommands(program);
  registerCompareCommands(program);
  registerReplayCommands(program);
  void program;
}

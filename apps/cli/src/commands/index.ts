import type { Command } from 'commander';
import { registerModelsCommands } from './models';

/** Each command group registers itself here; one line per group. */
export function registerCommands(program: Command): void {
  registerModelsCommands(program);
  void program;
}

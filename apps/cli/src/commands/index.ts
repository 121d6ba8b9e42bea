import type { Command } from 'commander';

/** Each command group registers itself here; one line per group. */
export function registerCommands(program: Command): void {
  void program;
}

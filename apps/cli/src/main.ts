#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EngineError } from '@engine/shared';
import { registerCommands } from './commands';

/** `engine`: the one command-line entry point. Every command lives in ./commands. */
export function buildProgram(): Command {
  const program = new Command('engine')
    .description('Engine: the model factory for systematic crypto trading')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    // Permanent errors exit 2 (fix the input), anything else 1 (may work on retry).
    const e = err as Error;
    process.stderr.write(`engine: ${e.message}\n`);
    if (!(err instanceof EngineError)) process.stderr.write(`${e.stack ?? ''}\n`);
    process.exitCode = err instanceof EngineError && err.permanent ? 2 : 1;
  }
}

if (require.main === module) void main(process.argv);

#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EngineError, loadConfig, resolveGitCommit } from '@engine/shared';
import { ENGINE_VERSION } from '@engine/training';
import { registerCommands } from './commands';
import { EXIT_CODES_HELP, exitCodeOf } from './commands/exit-codes';

/** `engine --version`: the engine's version, the commit it runs from, and the Node it runs on. */
export function versionText(): string {
  let commit: string | null;
  try {
    commit = resolveGitCommit(loadConfig());
  } catch {
    commit = resolveGitCommit({ gitCommit: undefined });
  }
  return `engine ${ENGINE_VERSION} (commit ${commit ?? 'unknown'}) on Node ${process.version}\n`;
}

/** `engine`: the one command-line entry point. Every command lives in ./commands. */
export function buildProgram(): Command {
  const program = new Command('engine')
    .description('Engine: the model factory for systematic crypto trading')
    .option('-V, --version', 'print the engine version, its git commit and the Node version, then exit')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride();
  program.on('option:version', () => {
    process.stdout.write(versionText());
    throw new CommanderError(0, 'engine.version', 'version printed');
  });
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
    const e = err as Error;
    process.stderr.write(`engine: ${e.message}\n`);
    if (!(err instanceof EngineError)) process.stderr.write(`${e.stack ?? ''}\n`);
    process.exitCode = exitCodeOf(err);
  }
}

if (require.main === module) void main(process.argv);

/**
 * `zeroproxy` command line. Each subcommand lives in its own file; this one wires them and owns the
 * exit-code rule: a bad flag or value prints one line on stderr and exits 2.
 */
import { Command, CommanderError } from 'commander';
import { registerRouterCommand } from './router-command.ts';
import { registerWorkerCommand } from './worker-command.ts';
import { registerKeygenCommand } from './keygen-command.ts';
import { registerStatusCommand } from './status-command.ts';

const program = new Command('zeroproxy')
  .description('Zero-configuration HTTP reverse proxy with pull-based ZeroMQ workers')
  .version('0.1.0')
  .showHelpAfterError(false)
  .configureOutput({
    // One line on stderr for usage errors; commander already prefixes "error:".
    outputError: (str, write) => write(str.split('\n')[0]!.trim() + '\n'),
  })
  .exitOverride();

registerRouterCommand(program);
registerWorkerCommand(program);
registerKeygenCommand(program);
registerStatusCommand(program);

// Apply the same error policy to every subcommand.
for (const cmd of program.commands) {
  cmd.exitOverride().configureOutput({
    outputError: (str, write) => write(str.split('\n')[0]!.trim() + '\n'),
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
    process.exit(ok ? 0 : 2);
  }
  process.stderr.write(`zeroproxy: ${(err as Error).message}\n`);
  process.exit(2);
}

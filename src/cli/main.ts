/** The command-line twin of the app. Each command lives in its own module under src/cli/commands. */
import { runCommand } from './commands';
import { quietOnClosedOutput } from './interrupt';

quietOnClosedOutput();
process.exitCode = await runCommand(process.argv.slice(2));

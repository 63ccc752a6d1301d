/** The command-line twin of the app. Each command lives in its own module under src/cli/commands. */
import { runCommand } from './commands';

const code = await runCommand(process.argv.slice(2));
process.exitCode = code;

import type { Command } from 'commander';
import { cliActor, readStdin } from './cli-lifecycle.js';
import type { Runtime } from './runtime.js';
import {
  createOperator,
  disableOperator,
  listOperators,
  resetOperatorPassword,
} from './services/console/operator-accounts.js';
import { rebuildStatistics } from './services/console/overview.js';

interface CliKit {
  withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T>;
  out(line: string): void;
  err(line: string): void;
  table(rows: Record<string, string>[]): void;
  iso(ms: number | null): string;
}

/** `operator create|list|disable|reset-password` and `stats rebuild`. */
export function addConsoleCommands(program: Command, kit: CliKit): void {
  const consoleUrl = (rt: Runtime) =>
    rt.config.console.adminPort === null
      ? `${rt.config.publicBaseUrl}/console/`
      : `http://${rt.config.console.adminHost}:${rt.config.console.adminPort}/console/`;

  const operator = program.command('operator').description('operators of the web console');
  operator
    .command('create <username>')
    .requiredOption('--role <role>', 'admin or viewer')
    .option('--password-stdin', 'read the initial password from stdin instead of generating one')
    .description('create an operator; prints the one-time password alone on stdout (changed at first login)')
    .action((username: string, opts: { role: string; passwordStdin?: boolean }) =>
      kit.withRuntime(async (rt) => {
        const password = opts.passwordStdin ? await readStdin() : undefined;
        const created = await createOperator(rt, cliActor(), {
          username,
          role: opts.role,
          ...(password === undefined ? {} : { password }),
        });
        if (created.oneTimePassword) kit.out(created.oneTimePassword);
        kit.err(
          `operator "${created.username}" (${created.role}) created; log in at ${consoleUrl(rt)} and change the password`,
        );
      }),
    );
  operator
    .command('list')
    .description('list operators')
    .action(() =>
      kit.withRuntime(async (rt) =>
        kit.table(
          (await listOperators(rt)).map((o) => ({
            username: o.username,
            role: o.role,
            status: o.disabled ? 'disabled' : o.mustChangePassword ? 'must-change-password' : 'active',
            lastLogin: kit.iso(o.lastLoginAt),
            created: kit.iso(o.createdAt),
          })),
        ),
      ),
    );
  operator
    .command('disable <username>')
    .description('disable an operator; their console sessions end at once')
    .action((username: string) =>
      kit.withRuntime(async (rt) => {
        await disableOperator(rt, cliActor(), username);
        kit.out(`disabled ${username}`);
      }),
    );
  operator
    .command('reset-password <username>')
    .description('set a new one-time password (printed alone on stdout); their sessions end')
    .action((username: string) =>
      kit.withRuntime(async (rt) => kit.out(await resetOperatorPassword(rt, cliActor(), username))),
    );

  program
    .command('stats')
    .description('hourly statistics behind the console overview')
    .command('rebuild')
    .description('recount the flow statistics from the flows table (run while no gateway is writing)')
    .action(() =>
      kit.withRuntime(async (rt) => kit.out(`rebuilt ${await rebuildStatistics(rt)} hourly flow counters`)),
    );
}

import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { addConsoleCommands } from './cli-console.js';
import { addLifecycleCommands, cliActor } from './cli-lifecycle.js';
import {
  ConfigError,
  describeSettings,
  loadConfig,
  loadFakeEsignDefaults,
  wantsStackTraces,
} from './config.js';
import { KeyError } from './crypto/keys.js';
import { AppError } from './errors.js';
import { explainError } from './explain-error.js';
import { completeFakeFlow, runFakeEsignCommand } from './fake-esign/cli-entry.js';
import { createLogger } from './log.js';
import { createRuntime, type Runtime } from './runtime.js';
import {
  createClient,
  listClients,
  rotateWebhookSecret,
  updateClientNotifyUrl,
} from './services/clients/admin.js';
import { createToken, listTokens, parseTtl, revokeToken } from './services/clients/tokens.js';
import { showFlow } from './services/flows/queries.js';
import { completeSandboxFlow } from './services/flows/sandbox.js';
import { listDeliveries, redeliver } from './services/notifications/deliveries.js';
import { formatBeijing } from './services/time.js';
import { migrateToLatest, openStore } from './store/db.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
/** Every time the CLI prints is Beijing time, like the API's. */
const iso = (ms: number | null) => (ms === null ? '-' : formatBeijing(ms));

/** One JSON object on one line; epoch-millisecond times (`…At`, `…Until`) become Beijing ISO 8601. */
function printJson(value: Record<string, unknown>): void {
  out(
    JSON.stringify(value, (key, v) =>
      typeof v === 'number' && /(At|Until)$/.test(key) ? formatBeijing(v) : v,
    ),
  );
}

const VERSION: string = JSON.parse(
  fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

function table(rows: Record<string, string>[]): void {
  if (rows.length === 0) {
    out('(none)');
    return;
  }
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i] ?? 0))
      .join('  ')
      .trimEnd();
  out(line(cols));
  for (const r of rows) out(line(cols.map((c) => r[c] ?? '')));
}

/** Commands other than `serve` log only warnings, to stderr, so stdout stays parseable. */
async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const rt = await createRuntime(config, logger);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

export function buildCli(): Command {
  const program = new Command('etc-esign')
    .description('ETC e-signature face authentication gateway')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(etc-esign --help lists every command)');
  program.on('command:*', (operands: string[]) => {
    err(`error: unknown command '${operands[0]}'`);
    const near = suggest(program, operands[0] ?? '');
    const named = near.map((c) => `etc-esign ${c}`);
    if (named.length > 0)
      err(`Did you mean ${[named.slice(0, -1).join(', '), named.at(-1)].filter(Boolean).join(' or ')}?`);
    err('(etc-esign --help lists every command)');
    process.exit(1);
  });

  program
    .command('serve')
    .description('run the HTTP gateway (also what etc-esign does without a command)')
    .addHelpText(
      'after',
      `\nEnvironment variables (read once at start; deploy/.env.example has the same list):\n${describeSettings()}`,
    )
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      // Loaded here, not at the top: the HTTP stack would slow every other command's start.
      const { startServer } = await import('./server.js');
      // The first-start token goes to stderr, beside the log stream (stdout), never into it: log
      // shipping must not carry a live token.
      const server = await startServer(config, logger, err);
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        const force = setTimeout(() => {
          logger.error('shutdown timed out; exiting');
          process.exit(1);
        }, config.shutdownTimeoutMs);
        force.unref();
        server.stop().then(
          () => logger.flush(() => process.exit(0)),
          (err) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });

  program
    .command('migrate')
    .description('create or upgrade the database schema')
    .action(async () => {
      const config = loadConfig();
      const store = openStore(config.database);
      try {
        const applied = await migrateToLatest(store.db);
        out(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
      } finally {
        await store.close();
      }
    });

  const client = program.command('client').description('manage client systems');
  client
    .command('create <name>')
    .option('--notify-url <url>', 'where result notifications are sent')
    .description('create a client; prints it as JSON (with a notify URL: its webhookSecret, shown once)')
    .action((name: string, opts: { notifyUrl?: string }) =>
      withRuntime(async (rt) => printJson(await createClient(rt, name, opts, cliActor()))),
    );
  client
    .command('update <name>')
    .requiredOption('--notify-url <url>', 'where result notifications are sent')
    .description(
      'set the notify URL (re-enables an endpoint disabled by 410); prints JSON, with a webhookSecret if the client had none',
    )
    .action((name: string, opts: { notifyUrl: string }) =>
      withRuntime(async (rt) => printJson(await updateClientNotifyUrl(rt, name, opts.notifyUrl, cliActor()))),
    );
  client
    .command('rotate-secret <name>')
    .description(
      'replace the webhook secret; prints the new one as JSON (the old one keeps signing for WEBHOOK_SECRET_GRACE_HOURS)',
    )
    .action((name: string) =>
      withRuntime(async (rt) => printJson(await rotateWebhookSecret(rt, name, cliActor()))),
    );
  client
    .command('list')
    .description('list clients')
    .action(() =>
      withRuntime(async (rt) =>
        table(
          (await listClients(rt)).map((c) => ({
            name: c.name,
            id: c.id,
            sysIds: c.sysIds.join(','),
            notifyUrl:
              c.notifyUrl === null
                ? '-'
                : `${c.notifyUrl}${c.notifyDisabledAt === null ? '' : ' (disabled: 410)'}`,
            created: iso(c.createdAt),
          })),
        ),
      ),
    );

  const token = program.command('token').description('manage access tokens');
  token
    .command('create')
    .requiredOption('--client <name>', 'client the token belongs to')
    .option('--ttl <ttl>', 'lifetime, e.g. 90d, 12h (default: never expires)', (v) => {
      try {
        return parseTtl(v);
      } catch {
        throw new InvalidArgumentError('use a number and one of s, m, h, d, e.g. 90d');
      }
    })
    .description('create a token; prints the token alone on stdout, its id and prefix on stderr')
    .action((opts: { client: string; ttl?: number }) =>
      withRuntime(async (rt) => {
        const t = await createToken(rt, opts.client, opts.ttl ?? null, cliActor());
        out(t.token);
        err(`id ${t.id}  prefix ${t.prefix}  client ${t.client}  expires ${iso(t.expiresAt)}`);
      }),
    );
  token
    .command('list')
    .description('list tokens: id, first 4 characters, client, times (never the tokens themselves)')
    .action(() =>
      withRuntime(async (rt) =>
        table(
          (await listTokens(rt)).map((t) => ({
            id: t.id,
            prefix: t.prefix ?? '-',
            client: t.client,
            created: iso(t.created_at),
            expires: iso(t.expires_at),
            revoked: iso(t.revoked_at),
            lastUsed: iso(t.last_used_at),
          })),
        ),
      ),
    );
  token
    .command('revoke <id>')
    .description('revoke a token at once')
    .action((id: string) =>
      withRuntime(async (rt) => {
        await revokeToken(rt, id, cliActor());
        out(`revoked ${id}`);
      }),
    );

  program
    .command('flow')
    .description('inspect flows')
    .command('show <flowId>')
    .description('show one flow (personal data masked)')
    .action((flowId: string) =>
      withRuntime(async (rt) => out(JSON.stringify(await showFlow(rt, flowId, cliActor()), null, 2))),
    );

  const delivery = program.command('delivery').description('notifications to clients');
  delivery
    .command('list')
    .option('--failed', 'only dead deliveries and pending ones whose last attempt failed')
    .option('--client <name>', 'only this client')
    .option('--limit <n>', 'at most this many, newest first', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
      return n;
    })
    .description('list notification deliveries')
    .action((opts: { failed?: boolean; client?: string; limit?: number }) =>
      withRuntime(async (rt) =>
        table(
          (await listDeliveries(rt, opts)).map((d) => ({
            id: d.id,
            client: d.client,
            flow: d.flowId ?? '-',
            type: d.type,
            status: d.status,
            attempts: String(d.attempts),
            next: iso(d.nextAttemptAt),
            lastStatus: d.lastStatus === null ? '-' : String(d.lastStatus),
            lastError: d.lastError ?? '-',
            created: iso(d.createdAt),
          })),
        ),
      ),
    );
  delivery
    .command('redeliver <id>')
    .description('send a delivery again from the start of the retry schedule, with the same webhook-id')
    .action((id: string) =>
      withRuntime(async (rt) => {
        await redeliver(rt, id);
        out(`queued ${id}`);
      }),
    );

  program
    .command('sandbox')
    .description('sandbox provider tools')
    .command('complete <flowId>')
    .option('--fail <reason>', 'fail the check with this reason instead of passing it')
    .description('finish a sandbox flow as the person would on the H5 page')
    .action((flowId: string, opts: { fail?: string }) =>
      withRuntime(async (rt) => {
        const r = await completeSandboxFlow(
          rt,
          flowId,
          opts.fail ? { success: false, reason: opts.fail } : { success: true },
        );
        out(`${flowId} ${r.flow.status}${r.changed ? '' : ' (unchanged: already final)'}`);
      }),
    );

  addLifecycleCommands(program, { withRuntime, out, table, iso });
  addConsoleCommands(program, {
    withRuntime,
    out,
    err: (line) => process.stderr.write(`${line}\n`),
    table,
    iso,
  });

  const fakeEsign = program
    .command('fake-esign')
    .description('run a fake e签宝 upstream on loopback for local development')
    .option('--port <n>', 'port (0 = any free port)', '0')
    .option('--app-id <id>', 'app id it accepts (default: ESIGN_APP_ID, else fake-app-id)')
    .option(
      '--app-secret <secret>',
      'app secret it verifies with (default: ESIGN_APP_SECRET, else fake-app-secret)',
    )
    .option('--latency-ms <n>', 'added latency per call', '0')
    .action(async (opts: { port: string; appId?: string; appSecret?: string; latencyMs: string }) => {
      const defaults = loadFakeEsignDefaults();
      await runFakeEsignCommand({
        port: Number(opts.port),
        appId: opts.appId ?? defaults.appId,
        appSecret: opts.appSecret ?? defaults.appSecret,
        latencyMs: Number(opts.latencyMs),
        // The base URL alone goes to stdout for scripts; the call log goes to stderr.
        logger: createLogger(defaults.logLevel, process.stderr),
      });
    });
  fakeEsign
    .command('complete <providerFlowId>')
    .description('finish a fake e签宝 flow as the person would (sends the signed callback)')
    .option('--fail <reason>', 'fail the check with this reason instead of passing it')
    .requiredOption('--fake-url <url>', 'base URL of the running fake e签宝')
    .action(async (providerFlowId: string, opts: { fail?: string; fakeUrl: string }) => {
      try {
        const r = await completeFakeFlow(
          opts.fakeUrl,
          providerFlowId,
          opts.fail === undefined ? {} : { failReason: opts.fail },
        );
        out(`${r.flowId} ${r.status} (callback answered ${r.callbackStatus ?? 'not sent'})`);
      } catch (err) {
        // The fake's refusal is the whole story; a stack trace would bury it.
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });

  return program;
}

/** Commands whose name is close to `typed`, as full paths (`token list`), for an unknown command. */
function suggest(program: Command, typed: string): string[] {
  const paths: string[][] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const path = [...prefix, sub.name()];
      if (sub.commands.length === 0) paths.push(path);
      walk(sub, path);
    }
  };
  walk(program, []);
  const close = (word: string) =>
    word === typed || distance(word, typed) <= Math.max(1, Math.floor(word.length / 3));
  return paths.filter((p) => p.some(close)).map((p) => p.join(' '));
}

/** Edit distance with adjacent transpositions (`lsit` → `list` is 1). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

export async function main(argv: string[]): Promise<void> {
  // Everything this process creates (data directory, database, key file, SQLite's -wal/-shm) is
  // for this user only, whatever the shell's umask.
  process.umask(0o077);
  // No command at all runs the gateway, as `npm start` does; anything else must name a command.
  const args = argv.length <= 2 ? [...argv, 'serve'] : argv;
  // `etc-esign audit list | head`: once the reader has gone, what is left to print has no reader;
  // stop quietly, as other command-line tools do, instead of dying with a stack trace.
  if (args[2] !== 'serve') {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(0);
    });
  }
  try {
    await buildCli().parseAsync(args);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      process.exit(2);
    }
    if (e instanceof KeyError) {
      err(`key error: ${e.message}`);
      process.exit(2);
    }
    if (e instanceof AppError) {
      err(`error: ${e.message}`);
      process.exit(1);
    }
    const explained = explainError(e);
    if (explained) for (const [i, line] of explained.entries()) err(i === 0 ? `error: ${line}` : line);
    else err(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (wantsStackTraces()) err((e as Error).stack ?? '');
    else if (!explained) err('(LOG_LEVEL=debug shows the stack trace)');
    process.exit(1);
  }
}

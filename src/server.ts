import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { startJobs } from './jobs.js';
import type { Logger } from './log.js';
import { createRuntime, type Runtime } from './runtime.js';
import { ensureDefaultClient } from './services/clients/bootstrap.js';

export interface RunningServer {
  runtime: Runtime;
  url: string;
  /** The console's listener when ADMIN_PORT is set. */
  adminUrl: string | null;
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  logger: Logger,
  out: (line: string) => void,
): Promise<RunningServer> {
  const runtime = await createRuntime(config, logger);
  const { adminPort, adminHost } = config.console;
  const app = await buildApp(runtime, adminPort === null ? 'all' : 'public');
  const admin = adminPort === null ? null : await buildApp(runtime, 'admin');
  // A plain-http e签宝 can only be the local fake: bootstrapping a client there is as safe as in
  // sandbox mode, and keeps the local e签宝 tour short.
  const localEsign = config.esign?.baseUrl.startsWith('http://') === true;
  if (config.provider === 'sandbox' || localEsign) {
    const token = await ensureDefaultClient(runtime);
    if (token) printBootstrap(out, config, token);
  }
  const address = await app.listen({ port: config.port, host: config.host });
  const adminAddress = admin ? await admin.listen({ port: adminPort ?? 0, host: adminHost }) : null;
  const stopJobs = startJobs(runtime);
  logger.info(
    { address, adminAddress, provider: config.provider, database: config.database.kind },
    'etc-esign listening',
  );
  let stopping: Promise<void> | null = null;
  return {
    runtime,
    url: address,
    adminUrl: adminAddress,
    stop() {
      stopping ??= (async () => {
        await stopJobs();
        // Fastify stops accepting and waits for in-flight requests before resolving.
        await Promise.all([app.close(), admin?.close()]);
        await runtime.close();
      })();
      return stopping;
    },
  };
}

function printBootstrap(out: (line: string) => void, config: Config, token: string) {
  const body = JSON.stringify({
    name: '张三',
    idNumber: '11010519491231002X',
    mobile: '13800138000',
    validPeriod: '2019.01.01-长期',
  });
  out('');
  out('Created client "default" with this access token (shown once, keep it safe):');
  out(`  ${token}`);
  out('');
  out('Try it:');
  out(
    `  curl -s -X POST ${config.publicBaseUrl}/esign/api/auth/individual/face -H 'content-type: application/json' -H 'etc-sys-id: E02' -H 'etc-token: ${token}' -d '${body}'`,
  );
  out('');
}

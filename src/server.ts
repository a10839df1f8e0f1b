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
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let admin: Awaited<ReturnType<typeof buildApp>> | null = null;
  let address: string;
  let adminAddress: string | null = null;
  try {
    app = await buildApp(runtime, adminPort === null ? 'all' : 'public');
    admin = adminPort === null ? null : await buildApp(runtime, 'admin');
    address = await app.listen({ port: config.port, host: config.host });
    adminAddress = admin ? await admin.listen({ port: adminPort ?? 0, host: adminHost }) : null;
  } catch (err) {
    await Promise.all([app?.close(), admin?.close()]);
    await runtime.close();
    throw err;
  }
  const main = app;
  // Only once the ports are ours: a start that fails must not create a client whose token nobody
  // saw. A plain-http e签宝 can only be the local fake: bootstrapping a client there is as safe as
  // in sandbox mode, and keeps the local e签宝 tour short.
  const localEsign = config.esign?.baseUrl.startsWith('http://') === true;
  if (config.provider === 'sandbox' || localEsign) {
    const token = await ensureDefaultClient(runtime);
    if (token) printBootstrap(out, config, token);
  }
  const stopJobs = startJobs(runtime);
  // Before the listening line, which is what supervisors and the tests wait for.
  warnAboutExposure(config, logger);
  const port = new URL(address).port;
  logger.info(
    {
      listen: isLoopback(config.host) ? address : `${config.host}:${port} (every interface)`,
      admin: adminAddress,
      publicBaseUrl: config.publicBaseUrl,
      provider: config.provider,
      database: config.database.kind,
    },
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
        await Promise.all([main.close(), admin?.close()]);
        await runtime.close();
      })();
      return stopping;
    },
  };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

function warnAboutExposure(config: Config, logger: Logger): void {
  if (!isLoopback(config.host)) {
    logger.warn(
      { host: config.host },
      config.console.adminPort === null
        ? '/metrics, /console and /docs answer on every address this listener serves; set ADMIN_PORT to move /metrics and /console to a listener of their own, and let the reverse proxy pass only /esign/, /s/ and /h5/'
        : '/docs answers on every address this listener serves; let the reverse proxy pass only /esign/, /s/ and /h5/',
    );
  }
  if (config.notify.allowPrivateNetworks) {
    logger.warn(
      'NOTIFY_ALLOW_PRIVATE_NETWORKS=true: notify URLs may use http:// and private or loopback addresses; for development only',
    );
  }
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

import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { type Config, loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { buildApp } from '../../src/http/app.js';
import type { FaceProvider, StartFaceInput } from '../../src/providers/provider.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createClient } from '../../src/services/clients/admin.js';
import { createToken } from '../../src/services/clients/tokens.js';
import type { TestDatabase } from './databases.js';
import { LOG_DIR, recordSecret, tempDir } from './paths.js';

export interface TestGateway {
  url: string;
  runtime: Runtime;
  config: Config;
  /** Token of client `acme`. */
  token: string;
  /** Number of provider `startFace` calls so far. */
  startCalls(): number;
  /** Moves the gateway's clock. */
  advance(ms: number): void;
  newClient(name: string): Promise<string>;
  close(): Promise<void>;
}

let seq = 0;

/** A real gateway on 127.0.0.1 (random port) over a real database; logs go to the suite's log dir. */
export async function startGateway(
  opts: {
    db?: TestDatabase;
    env?: Record<string, string>;
    wrapProvider?: (p: FaceProvider) => FaceProvider;
    /** Time stands still unless the test advances it (rate-limit windows become deterministic). */
    frozenClock?: boolean;
  } = {},
): Promise<TestGateway> {
  const dataDir = tempDir('gw');
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...(opts.db ? { DATABASE_URL: opts.db.url } : {}),
    ...opts.env,
  });
  const logFile = path.join(LOG_DIR, `gw-${process.pid}-${++seq}.ndjson`);
  const logger = pino({ level: 'info' }, pino.destination({ dest: logFile, mkdir: true, sync: true }));
  let offset = 0;
  let calls = 0;
  const counting = (p: FaceProvider): FaceProvider =>
    new Proxy(p, {
      get(target, prop, receiver) {
        if (prop === 'startFace') {
          return (input: StartFaceInput) => {
            calls++;
            return target.startFace(input);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const frozenAt = Date.now();
  const runtime = await createRuntime(config, logger, {
    now: opts.frozenClock ? () => frozenAt + offset : () => Date.now() + offset,
    wrapProvider: (p) => counting(opts.wrapProvider ? opts.wrapProvider(p) : p),
  });
  const app = await buildApp(runtime);
  const address = await app.listen({ port, host: '127.0.0.1' });
  const newClient = async (name: string) => {
    // A gateway opened again on the same database finds its clients there.
    await createClient(runtime, name).catch((err) => {
      if (!(err instanceof AppError && err.kind === 'conflict')) throw err;
    });
    const { token } = await createToken(runtime, name, null);
    recordSecret(token);
    return token;
  };
  const token = await newClient('acme');
  return {
    url: address,
    runtime,
    config,
    token,
    startCalls: () => calls,
    advance: (ms) => {
      offset += ms;
    },
    newClient,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read many response shapes; each assertion pins the exact value.
  body: { requestId: string; responseCode: string; responseMsg: string; data: any };
}

/** Calls the gateway like a client would. */
export async function api(
  gw: Pick<TestGateway, 'url' | 'token'>,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const res = await fetch(gw.url + path, {
    method,
    headers: {
      'etc-token': gw.token,
      'etc-sys-id': 'E02',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

export const FACE = '/esign/api/auth/individual/face';

/** A port that was free a moment ago, so links can carry the real address before the server starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

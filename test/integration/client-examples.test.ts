import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeFakeFlow } from '../../src/fake-esign/cli-entry.js';
import type { FakeEsign } from '../../src/fake-esign/server.js';
import { startJobs } from '../../src/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startFake } from '../support/esign.js';
import { runExample } from '../support/example-run.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { ROOT, tempDir } from '../support/paths.js';
import { person } from '../support/people.js';

const hasJavac = (() => {
  try {
    execFileSync('javac', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasJavac) {
  if (process.env.CI === 'true') throw new Error('javac is missing: .ci/run installs default-jdk-headless');
  process.stdout.write('skipped: the Java client example (javac not found)\n');
}

/** The whole transcript of a demo run; only the flow id, short link and account id vary. */
function transcript(kind: { invalid: string; auth: string; notFound: string }, flowId: string, gw: string) {
  return [
    'notify URL set',
    'error classes:',
    `  bad ID number: ${kind.invalid} 400 idNumber:ID_CHECKSUM`,
    `  unknown token: ${kind.auth} 401`,
    `  wrong sys id: ${kind.auth} 403`,
    `  unknown flow: ${kind.notFound} 404`,
    `started ${flowId}`,
    expect.stringMatching(new RegExp(`^  open on a phone: ${gw}/s/[0-9A-Za-z]{10,}$`)),
    'retry with the same Idempotency-Key: same flow',
    'query PENDING',
    'waiting for the result notification',
    `notification face_auth.success ${flowId}: signature verified`,
    'tampered copy: rejected',
    expect.stringMatching(/^query SUCCESS esignAccountId=[0-9a-f]{32}$/),
  ];
}

describe('the client examples against a gateway on the fake e签宝', () => {
  let fake: FakeEsign;
  let db: TestDatabase;
  let gw: TestGateway;
  let stopJobs: () => Promise<void>;
  let seed = 52_000;

  beforeAll(async () => {
    const upstream = await startFake();
    fake = upstream.fake;
    db = await createTestDatabase('sqlite');
    gw = await startGateway({
      db,
      env: { ...upstream.env, NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true', NOTIFY_RETRY_SCHEDULE: '0s,200ms,1s' },
    });
    stopJobs = startJobs(gw.runtime);
  });
  afterAll(async () => {
    await stopJobs?.();
    await gw?.close();
    await fake?.close();
    await db?.drop();
  });

  /** Runs one example as a fresh client, finishing its flow on the fake when it starts waiting. */
  async function demo(command: string, args: string[]) {
    const p = person(seed++);
    const token = await gw.newClient(`example-${seed}`);
    let flowId = '';
    const finishing: Promise<unknown>[] = [];
    const run = await runExample(
      command,
      args,
      {
        ETC_GATEWAY_URL: gw.url,
        ETC_TOKEN: token,
        ETC_DEMO_NAME: p.name,
        ETC_DEMO_ID_NUMBER: p.idNumber,
        ETC_DEMO_MOBILE: p.mobile,
        ETC_DEMO_VALID_PERIOD: p.validPeriod,
        ETC_DEMO_WAIT_SECONDS: '20',
        // Java decodes the environment (the Chinese name) in the locale's charset.
        LC_ALL: 'C.UTF-8',
      },
      (line) => {
        const started = /^started (\S+)$/.exec(line);
        if (started) flowId = started[1] ?? '';
        if (line === 'waiting for the result notification')
          finishing.push(completeFakeFlow(fake.baseUrl, flowId));
      },
    );
    await Promise.all(finishing);
    return { run, flowId };
  }

  it('TypeScript: fetch client, every error class, query, a verified webhook and a rejected tampered one', async () => {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'examples/typescript'],
      {
        cwd: ROOT,
      },
    );
    const { run, flowId } = await demo(process.execPath, ['examples/typescript/dist/demo.js']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.lines).toEqual(
      transcript(
        { invalid: 'InvalidRequestError', auth: 'AuthenticationError', notFound: 'NotFoundError' },
        flowId,
        gw.url,
      ),
    );
  });

  it.skipIf(!hasJavac)(
    'Java 17: java.net.http client, every error class, query, a verified webhook and a rejected tampered one',
    async () => {
      const classes = tempDir('java');
      const sources = fs
        .readdirSync(path.join(ROOT, 'examples/java/src'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.java'))
        .map((f) => path.join(ROOT, 'examples/java/src', f));
      execFileSync('javac', ['--release', '17', '-Xlint:all', '-Werror', '-d', classes, ...sources], {
        cwd: ROOT,
      });
      const { run, flowId } = await demo('java', ['-cp', classes, 'cn.etc.esign.example.Demo']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.lines).toEqual(
        transcript(
          {
            invalid: 'InvalidRequestException',
            auth: 'AuthenticationException',
            notFound: 'NotFoundException',
          },
          flowId,
          gw.url,
        ),
      );
    },
  );
});

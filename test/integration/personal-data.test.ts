import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSENT_TEXTS, consentTextHash } from '../../src/domain/consent.js';
import { listAudit, verifyAudit } from '../../src/services/audit.js';
import { applyFlowResult } from '../../src/services/flows/results.js';
import { runRetention } from '../../src/services/lifecycle/retention.js';
import { runCli } from '../support/cli-run.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person, type TestPerson } from '../support/people.js';

const BEIJING_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;
const ERASE = '/esign/api/persons/erase';
const ERASED_PERSON = { name: '已删除', idNumber: '已删除', mobile: '已删除' };
const SYSTEM = { kind: 'system', id: 'test' } as const;

describe.each(await storeKinds())('personal data lifecycle on %s', (kind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let beta: { url: string; token: string };
  let seed = 61_000 + (kind === 'postgres' ? 500 : 0);
  const next = () => person(seed++);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    gw = await startGateway({ db, env: { RETENTION_DAYS: '0' } });
    beta = { url: gw.url, token: await gw.newClient('beta') };
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  const start = async (p: TestPerson, as: { url: string; token: string } = gw) => {
    const r = await api(as, 'POST', FACE, p);
    expect(r.status).toBe(200);
    return r.body.data as { flowId: string; authUrl: string; originalUrl: string };
  };
  /** Passes (or fails) the flow on the sandbox page as the person would, consenting to the text shown. */
  const onPage = async (originalUrl: string, result: 'success' | 'fail') => {
    const html = await (await fetch(originalUrl)).text();
    const version = /name="consentVersion" value="([0-9a-f]{64})"/.exec(html)?.[1];
    expect(version).toBe(consentTextHash(CONSENT_TEXTS['zh-CN']));
    const res = await fetch(originalUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `consent=yes&result=${result}&consentVersion=${version}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
  };
  const ciphertexts = async (flowIds: string[]) => {
    const flows = await gw.runtime.store.db
      .selectFrom('flows')
      .select(['name_enc', 'mobile_enc', 'valid_period_enc', 'person_id'])
      .where('id', 'in', flowIds)
      .execute();
    const persons = await gw.runtime.store.db
      .selectFrom('persons')
      .select(['name_enc', 'id_number_enc'])
      .where(
        'id',
        'in',
        flows.map((f) => f.person_id),
      )
      .execute();
    return {
      flows: flows.flatMap((f) => [f.name_enc, f.mobile_enc, f.valid_period_enc]),
      persons: persons.flatMap((p) => [p.name_enc, p.id_number_enc]),
    };
  };
  /** SQLite: none of these values is anywhere in the database file or its WAL any more. */
  const inFile = (values: string[]): boolean[] => {
    const file = db.url.slice('sqlite:'.length);
    const bytes = [file, `${file}-wal`]
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f).toString('latin1'));
    expect(values.length).toBeGreaterThan(0);
    return values.map((v) => {
      expect(v).toMatch(/^k1\./);
      // A stretch of the ciphertext body: cannot match by chance.
      const body = v.slice(3, 40);
      return bytes.some((b) => b.includes(body));
    });
  };
  const expectGoneFromFile = (values: string[], stillThere: string[]) => {
    if (kind !== 'sqlite') return;
    expect(inFile(values)).toEqual(values.map(() => false));
    // The check can see: values still stored are found.
    expect(inFile(stillThere)).toEqual(stillThere.map(() => true));
  };

  it('records the consent shown on the page and answers consentAt', async () => {
    const p = next();
    const flow = await start(p);
    expect((await api(gw, 'GET', `${FACE}/${flow.flowId}`)).body.data.consentAt).toBeUndefined();
    await onPage(flow.originalUrl, 'success');
    const q = await api(gw, 'GET', `${FACE}/${flow.flowId}`);
    expect(q.body.data.consentAt).toMatch(BEIJING_ISO);
    const row = await gw.runtime.store.db
      .selectFrom('flows')
      .select(['consent_text_hash', 'consent_lang', 'consent_at'])
      .where('id', '=', flow.flowId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      consent_text_hash: consentTextHash('本人同意采集并使用本人的人脸图像，仅用于本次实名身份认证。'),
      consent_lang: 'zh-CN',
      consent_at: expect.any(Number),
    });
    // A page posting a consent text we never showed is refused and records nothing.
    const other = await start(next());
    const res = await fetch(other.originalUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `consent=yes&result=success&consentVersion=${'0'.repeat(64)}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect((await api(gw, 'GET', `${FACE}/${other.flowId}`)).body.data).toMatchObject({ status: 'PENDING' });
  });

  it('RETENTION_DAYS=0: the next run erases a finished flow, the person stays verified, the query answers erased', async () => {
    const p = next();
    const done = await start(p);
    await onPage(done.originalUrl, 'success');
    const failedPerson = next();
    const failed = await start(failedPerson);
    await onPage(failed.originalUrl, 'fail');
    const pending = await start(next());
    const before = await ciphertexts([done.flowId, failed.flowId]);

    // Persons get a minute's grace (a new request may be between creating one and reserving its flow).
    gw.advance(2 * 60_000);
    const dry = await runRetention(gw.runtime, { dryRun: true, actor: SYSTEM });
    expect(dry).toMatchObject({ dryRun: true });
    expect(dry.erasedFlows).toBeGreaterThanOrEqual(2);
    const run = await runRetention(gw.runtime, { actor: SYSTEM });
    expect(run).toEqual({
      dryRun: false,
      erasedFlows: dry.erasedFlows,
      erasedPersons: dry.erasedPersons,
      prunedAuditEvents: 0,
    });
    expect(await runRetention(gw.runtime, { dryRun: true, actor: SYSTEM })).toEqual({
      dryRun: true,
      erasedFlows: 0,
      erasedPersons: 0,
      prunedAuditEvents: 0,
    });

    const q = await api(gw, 'GET', `${FACE}/${done.flowId}`);
    expect(q.body.data).toMatchObject({
      flowId: done.flowId,
      status: 'SUCCESS',
      esignAccountId: expect.any(String),
      consentAt: expect.stringMatching(BEIJING_ISO),
      erasedAt: expect.stringMatching(BEIJING_ISO),
      person: ERASED_PERSON,
    });
    expect((await api(gw, 'GET', `${FACE}/${failed.flowId}`)).body.data).toMatchObject({
      status: 'FAILED',
      person: ERASED_PERSON,
    });
    // The pending flow is not final: untouched.
    const stillPending = (await api(gw, 'GET', `${FACE}/${pending.flowId}`)).body.data;
    expect(stillPending.status).toBe('PENDING');
    expect(stillPending.person.name).not.toBe('已删除');

    // Verified without a provider call: the blind indexes stayed.
    const calls = gw.startCalls();
    const again = await api(gw, 'POST', FACE, p);
    expect(again.body.data).toMatchObject({ message: 'verified', esignAccountId: expect.any(String) });
    expect(gw.startCalls()).toBe(calls);
    // A person whose data was erased gets it back with a new flow.
    const renewed = await start(failedPerson);
    expect(gw.startCalls()).toBe(calls + 1);
    expect((await api(gw, 'GET', `${FACE}/${renewed.flowId}`)).body.data.person).toEqual({
      name: `**${failedPerson.name.slice(2)}`,
      idNumber: `${failedPerson.idNumber.slice(0, 4)}**********${failedPerson.idNumber.slice(14)}`,
      mobile: `${failedPerson.mobile.slice(0, 3)}****${failedPerson.mobile.slice(7)}`,
    });

    expectGoneFromFile([...before.flows, ...before.persons], (await ciphertexts([pending.flowId])).flows);
    const { entries } = await listAudit(gw.runtime, { actions: ['retention.run'] });
    expect(entries[0]).toMatchObject({
      actorKind: 'system',
      detail: { erasedFlows: run.erasedFlows, erasedPersons: run.erasedPersons, prunedAuditEvents: 0 },
    });
  });

  it('erases one client’s data of a person on request, ends its pending flows, and leaves other clients alone', async () => {
    const p = next();
    const finished = await start(p);
    await onPage(finished.originalUrl, 'fail');
    const live = await start({ ...p, mobile: '13912345678' });
    const betaFlow = await start(p, beta);
    const acmeCiphertexts = (await ciphertexts([finished.flowId, live.flowId])).flows;

    const bad = await api(gw, 'POST', ERASE, {
      idNumber: `${p.idNumber.slice(0, 17)}${p.idNumber[17] === '0' ? '1' : '0'}`,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      responseCode: '400',
      data: { errors: [{ field: 'idNumber', code: 'ID_CHECKSUM', message: '身份证号校验位错误' }] },
    });
    expect((await api(gw, 'POST', ERASE, {})).body.data).toEqual({
      errors: [{ field: 'idNumber', code: 'REQUIRED', message: '身份证号不能为空' }],
    });
    const stranger = await api(gw, 'POST', ERASE, { idNumber: next().idNumber });
    expect(stranger.status).toBe(200);
    expect(stranger.body.data).toEqual({ erasedFlows: 0 });

    const erased = await api(gw, 'POST', ERASE, { idNumber: p.idNumber });
    expect(erased.status).toBe(200);
    expect(erased.body.data).toEqual({ erasedFlows: 2 });
    expect((await api(gw, 'POST', ERASE, { idNumber: p.idNumber })).body.data).toEqual({ erasedFlows: 0 });

    // The pending flow ended at once: its links answer 410, a late success reaches no one.
    expect((await fetch(live.authUrl, { redirect: 'manual' })).status).toBe(410);
    expect((await fetch(live.originalUrl, { redirect: 'manual' })).status).toBe(410);
    const late = await applyFlowResult(gw.runtime, live.flowId, { success: true, accountId: 'acct-late' });
    expect(late.changed).toBe(false);
    const queued = await gw.runtime.store.db
      .selectFrom('deliveries')
      .select('id')
      .where('flow_id', '=', live.flowId)
      .execute();
    expect(queued).toEqual([]);
    expect((await api(gw, 'GET', `${FACE}/${live.flowId}`)).body.data).toMatchObject({
      status: 'EXPIRED',
      person: ERASED_PERSON,
    });

    // The other client's flow and the person's own data (that flow needs it) are untouched.
    const betaView = (await api(beta, 'GET', `${FACE}/${betaFlow.flowId}`)).body.data;
    expect(betaView).toMatchObject({ status: 'PENDING' });
    expect(betaView.person.idNumber).toBe(`${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)}`);
    expect((await fetch(betaFlow.authUrl, { redirect: 'manual' })).status).toBe(302);
    const personRow = () =>
      gw.runtime.store.db
        .selectFrom('persons')
        .select(['erased_at', 'id_number_enc'])
        .where(
          'id',
          '=',
          gw.runtime.store.db.selectFrom('flows').select('person_id').where('id', '=', betaFlow.flowId),
        )
        .executeTakeFirstOrThrow();
    expect((await personRow()).erased_at).toBeNull();
    expectGoneFromFile(acmeCiphertexts, (await ciphertexts([betaFlow.flowId])).flows);

    // Once the last client erases too, the person's name and ID number go.
    const personCiphertexts = (await ciphertexts([betaFlow.flowId])).persons;
    const pending2 = await start(next());
    expect((await api(beta, 'POST', ERASE, { idNumber: p.idNumber })).body.data).toEqual({ erasedFlows: 1 });
    expect(await personRow()).toEqual({ erased_at: expect.any(Number), id_number_enc: '' });
    expectGoneFromFile(personCiphertexts, (await ciphertexts([pending2.flowId])).flows);

    // Audited with who and the request id; the trail holds no clear personal value.
    const { entries } = await listAudit(gw.runtime, { actions: ['person.erase'] });
    expect(entries.slice(0, 4).map((e) => [e.actor, e.detail])).toEqual([
      [expect.any(String), { erasedFlows: 1 }],
      [expect.any(String), { erasedFlows: 0 }],
      [expect.any(String), { erasedFlows: 2 }],
      [expect.any(String), { erasedFlows: 0 }],
    ]);
    expect(entries[2]).toMatchObject({
      actorKind: 'client',
      requestId: erased.body.requestId,
      personId: expect.any(String),
    });
    const trail = JSON.stringify(await gw.runtime.store.db.selectFrom('audit_events').selectAll().execute());
    for (const v of [p.idNumber, p.name, p.mobile]) expect(trail).not.toContain(v);
    expect(await verifyAudit(gw.runtime)).toMatchObject({ intact: true });
  });

  it('audits every read of a flow, and the CLI lists, verifies and erases', async () => {
    const p = next();
    const flow = await start(p);
    const read = await api(gw, 'GET', `${FACE}/${flow.flowId}`);
    const keys = gw.config.keys;
    const env = {
      DATA_DIR: gw.config.dataDir,
      DATABASE_URL: db.url,
      USER: 'ops-alice',
      // PostgreSQL runs on given keys: the CLI needs the gateway's.
      ...(keys
        ? {
            ENCRYPTION_KEYS: keys.encryption.map((k) => `${k.id}:${k.key.toString('base64')}`).join(','),
            BLIND_INDEX_KEY: keys.blindIndex.map((k) => `${k.id}:${k.key.toString('base64')}`).join(','),
          }
        : {}),
    };
    const cli = async (args: string[], input?: string) => runCli(args, env, input);

    const shown = await cli(['flow', 'show', flow.flowId]);
    expect(shown.code).toBe(0);
    const listed = await cli(['audit', 'list', '--flow', flow.flowId, '--since', '1h']);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^seq\s+at\s+actor\s+action\s+client\s+flow\s+person\s+target\s+reason\s+requestId\s+detail$/,
    );
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(2, 4))).toEqual([
      ['cli:ops-alice', 'flow.read'],
      [expect.stringMatching(/^client:/), 'flow.read'],
    ]);
    expect(lines[2]).toContain(read.body.requestId);

    const erased = await cli(['person', 'erase', '--client', 'acme', '--id-number-stdin'], `${p.idNumber}\n`);
    expect(erased).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(erased.stdout)).toEqual({ erasedFlows: 1 });
    expect((await cli(['person', 'erase', '--client', 'nobody', '--id-number-stdin'], p.idNumber)).code).toBe(
      1,
    );

    const intact = await cli(['audit', 'verify']);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(
      /^audit trail intact: \d+ rows checked, last seq \d+, head digest [0-9a-f]{64}\n$/,
    );

    const target = (await listAudit(gw.runtime, { flowId: flow.flowId, limit: 1 })).entries[0]?.seq as number;
    await gw.runtime.store.db
      .updateTable('audit_events')
      .set({ actor: 'someone-else' })
      .where('seq', '=', target)
      .execute();
    const tampered = await cli(['audit', 'verify']);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toBe(
      `audit trail broken at row ${target}: row ${target} was edited, or the row before it was (${target - 1} rows intact before it)\n`,
    );
    await gw.runtime.store.db
      .updateTable('audit_events')
      .set({ actor: 'ops-alice' })
      .where('seq', '=', target)
      .execute();
    expect((await cli(['audit', 'verify'])).code).toBe(0);

    const retention = await cli(['retention', 'run', '--dry-run']);
    expect(retention.code).toBe(0);
    expect(JSON.parse(retention.stdout)).toMatchObject({ dryRun: true, erasedFlows: expect.any(Number) });
  });
});

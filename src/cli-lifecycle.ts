import os from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { parseDuration } from './config.js';
import { newKeyMaterial } from './crypto/key-file-rotation.js';
import type { Runtime } from './runtime.js';
import { type AuditActor, listAudit, verifyAudit } from './services/audit.js';
import { unblockPerson } from './services/flows/unblock.js';
import { reindex } from './services/lifecycle/blind-index-reindex.js';
import {
  blindKeyStatus,
  generateBlindKey,
  retireBlindKey,
  rotateBlindKey,
} from './services/lifecycle/blind-index-rotation.js';
import { erasePersonForClientName } from './services/lifecycle/erasure.js';
import {
  generateKey,
  keyStatus,
  reencrypt,
  retireKey,
  rotateKey,
} from './services/lifecycle/key-rotation.js';
import { runRetention } from './services/lifecycle/retention.js';

/** A first key set for a new deployment's environment; no database holds an id yet. */
function freshKeyLines(): string[] {
  return [`ENCRYPTION_KEYS=k1:${newKeyMaterial()}`, `BLIND_INDEX_KEY=${newKeyMaterial()}`];
}

/** What the command files share with `cli.ts`. */
export interface CliKit {
  withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T>;
  out(line: string): void;
  table(rows: Record<string, string>[]): void;
  iso(ms: number | null): string;
}

/** The operator at the keyboard, as the audit trail names them. */
export function cliActor(): AuditActor {
  let user = process.env.USER || process.env.LOGNAME || '';
  try {
    user ||= os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment or "unknown" will do.
  }
  return { kind: 'cli', id: user || 'unknown' };
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

const duration = (v: string): number => {
  const ms = parseDuration(v);
  if (ms === null) throw new InvalidArgumentError('use a number and one of s, m, h, d, e.g. 7d');
  return ms;
};

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
};

/** `retention run`, `person erase|unblock`, `audit list|verify`, `keys status|generate|rotate|reencrypt|reindex|retire`. */
export function addLifecycleCommands(program: Command, kit: CliKit): void {
  const { withRuntime, out } = kit;

  program
    .command('retention')
    .description('personal data retention (RETENTION_DAYS, AUDIT_RETENTION_DAYS)')
    .command('run')
    .option('--dry-run', 'only count what would be erased')
    .description('erase personal data past retention now; prints the counts as JSON')
    .action((opts: { dryRun?: boolean }) =>
      withRuntime(async (rt) =>
        out(
          JSON.stringify(
            await runRetention(rt, { dryRun: opts.dryRun === true, actor: cliActor(), auditEmptyRuns: true }),
          ),
        ),
      ),
    );

  const person = program
    .command('person')
    .description('persons (by ID number, read from stdin so it stays out of shell history)');
  person
    .command('erase')
    .requiredOption('--client <name>', 'erase this client’s data of the person (other clients keep theirs)')
    .requiredOption('--id-number-stdin', 'read the ID number from stdin')
    .description('erase a person’s personal data on one client’s flows and end its pending flows')
    .action((opts: { client: string }) =>
      withRuntime(async (rt) => {
        const idNumber = await readStdin();
        out(JSON.stringify(await erasePersonForClientName(rt, opts.client, idNumber, cliActor())));
      }),
    );
  person
    .command('unblock')
    .requiredOption('--client <name>', 'the client whose new-flow limit for the person is reset')
    .requiredOption('--id-number-stdin', 'read the ID number from stdin')
    .description(
      "reset a client's new-flow limit for a person (RATE_LIMIT_NEW_FLOWS_PER_PERSON; needs REDIS_URL)",
    )
    .action((opts: { client: string }) =>
      withRuntime(async (rt) => {
        const r = await unblockPerson(rt, opts.client, await readStdin(), cliActor());
        out(`reset the new-flow limit of ${r.maskedIdNumber} for client ${opts.client}`);
      }),
    );

  const audit = program.command('audit').description('the access and change audit trail');
  audit
    .command('list')
    .option('--flow <id>', 'only events about this flow')
    .option('--since <duration>', 'only events of the last 7d, 12h, …', duration)
    .option('--limit <n>', 'at most this many, newest first (default 100)', positive)
    .description('list audit events, newest first')
    .action((opts: { flow?: string; since?: number; limit?: number }) =>
      withRuntime(async (rt) => {
        const { entries } = await listAudit(rt, {
          ...(opts.flow ? { flowId: opts.flow } : {}),
          ...(opts.since !== undefined ? { since: rt.now() - opts.since } : {}),
          limit: opts.limit ?? 100,
        });
        kit.table(
          entries.map((e) => ({
            seq: String(e.seq),
            at: kit.iso(e.at),
            actor: `${e.actorKind}:${e.actor}`,
            action: e.action,
            client: e.clientId ?? '-',
            flow: e.flowId ?? '-',
            person: e.personId ?? '-',
            target: e.target ?? '-',
            reason: e.reason ?? '-',
            requestId: e.requestId ?? '-',
            detail: e.detail === null ? '-' : JSON.stringify(e.detail),
          })),
        );
      }),
    );
  audit
    .command('verify')
    .description('check the HMAC chain of the whole trail; exits 1 naming the first broken row')
    .action(() =>
      withRuntime(async (rt) => {
        const v = await verifyAudit(rt);
        if (v.intact) {
          out(
            `audit trail intact: ${v.rows} rows checked, last seq ${v.lastSeq}, head digest ${v.headDigest || '-'}`,
          );
          return;
        }
        process.stderr.write(
          `audit trail broken at row ${v.brokenSeq}: ${v.problem} (${v.rows} rows intact before it)\n`,
        );
        process.exitCode = 1;
      }),
    );

  const keys = program
    .command('keys')
    .description('encryption and blind-index key rotation (see README: Personal data)');
  keys
    .command('status')
    .description(
      'the active keys, what each key still protects or indexes, and how much is left to re-encrypt and recompute',
    )
    .action(() =>
      withRuntime(async (rt) => {
        const st = await keyStatus(rt);
        out(
          `active key: ${st.activeKeyId}${st.processKeyId === st.activeKeyId ? '' : ` (this process: ${st.processKeyId})`}`,
        );
        kit.table(
          st.keys.map((k) => ({
            key: k.id,
            state: k.retired ? 'retired' : k.id === st.activeKeyId ? 'active' : 'old',
            held: k.held ? 'yes' : 'no',
            values: String(k.values),
            auditRows: String(k.auditRows),
          })),
        );
        out(st.remaining === 0 ? 're-encryption: done' : `re-encryption: ${st.remaining} left to move`);
        const b = await blindKeyStatus(rt);
        out(
          `active blind-index key: ${b.activeKeyId}${b.processKeyId === b.activeKeyId ? '' : ` (this process: ${b.processKeyId})`}`,
        );
        kit.table(
          b.keys.map((k) => ({
            key: k.id,
            state: k.retired ? 'retired' : k.id === b.activeKeyId ? 'active' : 'old',
            held: k.held ? 'yes' : 'no',
            persons: String(k.persons),
            flows: String(k.flows),
            stranded: String(k.stranded),
          })),
        );
        out(
          `blind-index recompute: ${b.remaining === 0 ? 'done' : `${b.remaining} left to move`}${b.stranded === 0 ? '' : `; ${b.stranded} persons cannot be recomputed (see keys retire --blind-index)`}`,
        );
      }),
    );
  keys
    .command('generate')
    .option(
      '--next',
      'print only the next key line "kN:base64" to append to ENCRYPTION_KEYS (reads the database for used ids)',
    )
    .option('--blind-index', 'with --next: the next "bN:base64" to append to BLIND_INDEX_KEY')
    .description(
      'print fresh ENCRYPTION_KEYS and BLIND_INDEX_KEY lines for .env (needs no database; nothing is stored)',
    )
    .action((opts: { next?: boolean; blindIndex?: boolean }) =>
      opts.next
        ? withRuntime(async (rt) =>
            out(
              opts.blindIndex
                ? `${await generateBlindKey(rt)}:${newKeyMaterial()}`
                : (await generateKey(rt)).line,
            ),
          )
        : Promise.resolve(freshKeyLines().forEach(out)),
    );
  keys
    .command('rotate')
    .description(
      'make a new key the one all new values are encrypted with (key file: made here; ENCRYPTION_KEYS: the one new key in the list); serving processes then re-encrypt old values in the background',
    )
    .option(
      '--to <id>',
      'with ENCRYPTION_KEYS (BLIND_INDEX_KEY): the new key id, when the list holds several',
    )
    .option(
      '--blind-index',
      'rotate the blind-index key instead: new digests use the new key, both answer lookups until serving processes (or keys reindex) recompute the old ones',
    )
    .action((opts: { to?: string; blindIndex?: boolean }) =>
      withRuntime(async (rt) => {
        const to = opts.to === undefined ? {} : { to: opts.to };
        if (opts.blindIndex) {
          const r = await rotateBlindKey(rt, cliActor(), to);
          out(
            `active blind-index key: ${r.to} (was ${r.from}); old indexes are recomputed in the background (keys status)`,
          );
          return;
        }
        const r = await rotateKey(rt, cliActor(), to);
        out(`active key: ${r.to} (was ${r.from}); old values move over in the background (keys status)`);
      }),
    );
  keys
    .command('reencrypt')
    .description(
      'move every value onto the active key now, in this process (resumable; safe beside serving processes)',
    )
    .action(() =>
      withRuntime(async (rt) => {
        const r = await reencrypt(rt, { actor: cliActor(), restart: true });
        out(JSON.stringify(r));
      }),
    );
  keys
    .command('reindex')
    .description(
      'recompute every blind index under the active blind-index key now, in this process (resumable; safe beside serving processes)',
    )
    .action(() =>
      withRuntime(async (rt) => out(JSON.stringify(await reindex(rt, { actor: cliActor(), restart: true })))),
    );
  keys
    .command('retire <id>')
    .description('retire a key no value uses any more (key file: removed from it)')
    .option('--blind-index', 'retire a blind-index key the recompute has moved every row off')
    .option(
      '--accept-stranded',
      'with --blind-index: retire it even though erased persons (and verified names no flow holds) only it recognises; they lose "already verified"',
    )
    .action((id: string, opts: { blindIndex?: boolean; acceptStranded?: boolean }) =>
      withRuntime(async (rt) => {
        if (opts.blindIndex) {
          const r = await retireBlindKey(rt, id, cliActor(), {
            acceptStranded: opts.acceptStranded === true,
          });
          out(
            `retired blind-index key ${id}${r.stranded === 0 ? '' : ` (${r.stranded} persons are no longer recognised)`}${rt.config.keys === null ? '' : '; remove it from BLIND_INDEX_KEY in every process'}`,
          );
          return;
        }
        await retireKey(rt, id, cliActor());
        out(
          `retired ${id}${rt.config.keys === null ? '' : `; remove it from ENCRYPTION_KEYS in every process`}`,
        );
      }),
    );
}

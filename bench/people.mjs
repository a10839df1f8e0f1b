/**
 * Request bodies for the benchmark: millions of distinct valid persons, and a fixed set of
 * invalid ones. Built on the project's own check-digit function so every generated ID passes the
 * gateway's validation (checked once at import, so a rule change fails loudly, not as 400s).
 */
import { idCheckChar, todayInShanghai, validateFaceRequest } from '../dist/domain/identity/index.js';

const SURNAMES = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国';
/** Real district codes in four provinces; multiplies the ID space by four. */
const REGIONS = ['110105', '310104', '440106', '510107'];
/**
 * A 20-year card issued 2020-06-01 fits holders aged 26–45 on that day, so birth dates run from
 * 1975-06-02 to 1994-06-01 (the safe end of that range): 6,940 days × 1,000 sequence numbers ×
 * 4 regions ≈ 28 million persons.
 */
const FIRST_BIRTH_MS = Date.UTC(1975, 5, 2);
const BIRTH_DAYS = (Date.UTC(1994, 5, 1) - FIRST_BIRTH_MS) / 86_400_000 + 1;
const VALID_PERIOD = '2020.06.01-2040.06.01';
export const PERSON_SPACE = BIRTH_DAYS * 1000 * REGIONS.length;

const pad = (n, w) => String(n).padStart(w, '0');

/** Person number `n` (0 ≤ n < PERSON_SPACE); distinct `n` give distinct ID numbers. */
export function person(n) {
  const region = REGIONS[n % REGIONS.length];
  const seq = Math.floor(n / REGIONS.length) % 1000;
  const day = Math.floor(n / (REGIONS.length * 1000)) % BIRTH_DAYS;
  const birth = new Date(FIRST_BIRTH_MS + day * 86_400_000);
  const first17 = `${region}${birth.getUTCFullYear()}${pad(birth.getUTCMonth() + 1, 2)}${pad(birth.getUTCDate(), 2)}${pad(seq, 3)}`;
  return {
    name: `${SURNAMES[n % SURNAMES.length]}${GIVEN[Math.floor(n / 7) % GIVEN.length]}${GIVEN[Math.floor(n / 11) % GIVEN.length]}`,
    idNumber: first17 + idCheckChar(first17),
    mobile: `1${3 + (n % 7)}${pad(Math.floor(n / 7) % 1_000_000_000, 9)}`,
    validPeriod: VALID_PERIOD,
  };
}

/**
 * Hands out person numbers without repeats across a whole bench run. Each gateway database gets
 * its own sequence; the start is random so two runs against one database rarely collide.
 */
export function personSequence(start = Math.floor(Math.random() * (PERSON_SPACE / 2))) {
  let next = start;
  return () => person(next++ % PERSON_SPACE);
}

/** Bodies the gateway must refuse with 400: one per kind of failure, schema and domain rules. */
export const INVALID_BODIES = (() => {
  const good = person(12345);
  const badCheck = good.idNumber.slice(0, 17) + (good.idNumber[17] === '0' ? '1' : '0');
  return [
    { ...good, idNumber: badCheck }, // ID_CHECKSUM
    { ...good, mobile: '1500000000' }, // MOBILE_FORMAT (10 digits)
    { ...good, name: 'Zhang San' }, // NAME_CHARS
    { ...good, validPeriod: '2000.01.01-2010.01.01' }, // PERIOD_EXPIRED
    { name: good.name, idNumber: good.idNumber, mobile: good.mobile }, // schema: REQUIRED
    { ...good, name: '张'.repeat(40) }, // schema: TOO_LONG
  ].map((b) => JSON.stringify(b));
})();

// Self-check at both ends of the ranges: a generator that produces invalid persons would turn
// every "new person" request into a cheap 400 and make the numbers meaningless.
{
  const today = todayInShanghai(new Date());
  for (const n of [0, 1, 3999, 4000, PERSON_SPACE - 1, 12_345_678]) {
    const r = validateFaceRequest(person(n), { today, minAge: 18 });
    if (!r.ok) throw new Error(`bench person ${n} is invalid: ${JSON.stringify(r.errors)}`);
  }
  if (new Set([0, 1, 4, 4000, 4_000_000].map((n) => person(n).idNumber)).size !== 5) {
    throw new Error('bench persons are not distinct');
  }
}

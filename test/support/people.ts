import { idCheckChar } from '../../src/domain/identity/index.js';
import { recordSecret } from './paths.js';

export interface TestPerson {
  name: string;
  idNumber: string;
  mobile: string;
  validPeriod: string;
}

const SURNAMES = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国';

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/**
 * A valid adult with a 20-year ID card, distinct per `seed`: born 1980–1989 (Beijing, 110105),
 * card issued at 30–39 on 2020-06-01. Every value is recorded for the end-of-suite log scan.
 */
export function person(seed: number): TestPerson {
  const year = 1980 + (seed % 10);
  const dayOfYear = Math.floor(seed / 10) % 365;
  const birth = new Date(Date.UTC(year, 0, 1 + dayOfYear));
  const first17 = `110105${birth.getUTCFullYear()}${pad(birth.getUTCMonth() + 1, 2)}${pad(birth.getUTCDate(), 2)}${pad(
    Math.floor(seed / 3650) % 1000,
    3,
  )}`;
  const p: TestPerson = {
    name: `${SURNAMES[seed % SURNAMES.length]}${GIVEN[Math.floor(seed / SURNAMES.length) % GIVEN.length]}${
      GIVEN[Math.floor(seed / 7) % GIVEN.length]
    }`,
    idNumber: first17 + idCheckChar(first17),
    mobile: `139${pad(seed % 100_000_000, 8)}`,
    validPeriod: '2020.06.01-2040.06.01',
  };
  recordSecret(p.idNumber);
  recordSecret(p.mobile);
  recordSecret(p.name);
  return p;
}

/** The seed document's own sample: invalid mobile (10 digits) and ID (bad check digit). */
export const SEED_SAMPLE = {
  name: '张三',
  mobile: '1500000000',
  idNumber: '310000000000000000',
  validPeriod: '2019.01.01-2039.01.01',
};

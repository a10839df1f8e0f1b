/**
 * Personal names: Han characters, optionally joined by the middle dot used in transliterated
 * minority and foreign names (`艾哈迈德·买买提`). Never NFC/NFKC-normalized: that would replace CJK
 * compatibility ideographs with their unified counterparts and so change the registered name.
 */
export type NameErrorCode = 'NAME_CHARS' | 'TOO_LONG';

export type NameCheck = { ok: true; value: string } | { ok: false; code: NameErrorCode };

export const MIDDLE_DOT = '\u00B7';
export const NAME_MIN_CODE_POINTS = 2;
export const NAME_MAX_CODE_POINTS = 32;

/** Only ASCII whitespace and the ideographic space U+3000, as the reference specifies. */
const EDGE_SPACES = /^[\t\n\v\f\r \u3000]+|[\t\n\v\f\r \u3000]+$/g;
/** Look-alikes people and input methods type instead of U+00B7. */
const DOT_LOOKALIKES = /[\u2022\u30FB\uFF65\u2027\u22C5\uFF0E]/g;
/** A full stop only counts as a separator between two Han characters. */
const FULL_STOP_BETWEEN_HAN = /(?<=\p{Script=Han})\.(?=\p{Script=Han})/gu;
/**
 * Han characters, except the CJK and Kangxi radicals (U+2E80–U+2FDF): Unicode gives them the Han
 * script, but they are components, never characters of a registered name, and look like the
 * ideographs they come from (⼈ U+2F08 beside 人).
 */
const VALID_NAME =
  /^(?:(?![\u2E80-\u2FDF])\p{Script=Han})+(?:\u00B7(?:(?![\u2E80-\u2FDF])\p{Script=Han})+)*$/u;

export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export function normalizeName(raw: string): string {
  return raw
    .replace(EDGE_SPACES, '')
    .replace(DOT_LOOKALIKES, MIDDLE_DOT)
    .replace(FULL_STOP_BETWEEN_HAN, MIDDLE_DOT);
}

export function validateName(raw: string): NameCheck {
  const name = normalizeName(raw);
  const length = codePointLength(name);
  if (length > NAME_MAX_CODE_POINTS) return { ok: false, code: 'TOO_LONG' };
  if (length < NAME_MIN_CODE_POINTS || !VALID_NAME.test(name)) return { ok: false, code: 'NAME_CHARS' };
  return { ok: true, value: name };
}

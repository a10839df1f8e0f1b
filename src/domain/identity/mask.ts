/**
 * Masking for logs and display. Values too short for their usual pattern (malformed input) are
 * masked entirely rather than showing the same prefix and suffix of a much smaller secret.
 */
const MIN_HIDDEN = 4;

function maskMiddle(text: string, head: number, tail: number): string {
  const chars = Array.from(text);
  if (chars.length < head + tail + MIN_HIDDEN) return '*'.repeat(chars.length);
  return chars.slice(0, head).join('') + '*'.repeat(chars.length - head - tail) + chars.slice(-tail).join('');
}

/** `310101199001011234` → `3101**********1234`; the birth date (digits 7–14) is always hidden. */
export function maskIdNumber(idNumber: string): string {
  return maskMiddle(idNumber, 4, 4);
}

/** `13800138000` → `138****8000`. */
export function maskMobile(mobile: string): string {
  return maskMiddle(mobile, 3, 4);
}

/** `张三` → `*三`, `王小明` → `**明`: only the last code point stays visible. */
export function maskName(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= 1) return '*'.repeat(chars.length);
  return `${'*'.repeat(chars.length - 1)}${chars[chars.length - 1]}`;
}

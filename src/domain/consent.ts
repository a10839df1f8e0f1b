import { createHash } from 'node:crypto';

/**
 * The consent a person gives before the face check, per page language. A record keeps the hash
 * of the exact text shown, so changing a word here is a new version and old records stay provable.
 */
export const CONSENT_TEXTS = {
  'zh-CN': '本人同意采集并使用本人的人脸图像，仅用于本次实名身份认证。',
} as const;

export type ConsentLang = keyof typeof CONSENT_TEXTS;

export const consentTextHash = (text: string): string =>
  createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of the text currently shown in `lang`; a submitted version is accepted only if it is one of these. */
export function currentConsentVersion(lang: ConsentLang): string {
  return consentTextHash(CONSENT_TEXTS[lang]);
}

export function consentLangOf(version: string): ConsentLang | null {
  for (const lang of Object.keys(CONSENT_TEXTS) as ConsentLang[]) {
    if (currentConsentVersion(lang) === version) return lang;
  }
  return null;
}

/**
 * e签宝's page asks for consent in its own words, which we do not see: its record names the
 * provider's page instead of a text of ours.
 */
export const PROVIDER_CONSENT = { text: 'e签宝 H5 人脸识别授权页（由 e签宝 展示）', lang: 'zh-CN' } as const;

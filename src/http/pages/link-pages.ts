import type { PublicStatus } from '../../services/flows/queries.js';
import { messagePage } from './layout.js';

/**
 * What a person sees on a link that no longer leads to a face check. The short link and the
 * sandbox's long link show the very same pages, so the wording cannot drift apart.
 */
export function linkOverPage(status: Exclude<PublicStatus, 'PENDING'>): string {
  if (status === 'SUCCESS') {
    return messagePage('认证已完成', '✅', ['您已完成实名认证，无需重复操作，请返回办理页面继续。']);
  }
  return messagePage('链接已失效', '⌛', [
    '该认证链接已过期、已被新的链接替代或认证已结束。',
    '如需重新认证，请联系办理机构获取新的链接。',
  ]);
}

export function linkUnknownPage(): string {
  return messagePage('链接不存在', '❓', ['请检查链接是否完整，或联系办理机构获取新的链接。']);
}

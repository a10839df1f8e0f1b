/**
 * The fake e签宝's own face page: what a person sees on the phone after opening `originalUrl`.
 * Self-contained HTML (no gateway code) so the fake stays an independent stand-in.
 */

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** `张三` → `*三`; the fake shows no more of the person than e签宝's own page would. */
function maskName(name: string): string {
  const chars = [...name];
  return chars.length <= 1 ? '*' : `${'*'.repeat(chars.length - 1)}${chars[chars.length - 1]}`;
}

function maskId(id: string): string {
  return id.length < 8 ? '****' : `${id.slice(0, 4)}${'*'.repeat(id.length - 8)}${id.slice(-4)}`;
}

/** A head-and-shoulders outline; drawn inline because phones and headless browsers may lack emoji fonts. */
const FACE_OUTLINE =
  '<svg viewBox="0 0 96 96" fill="none" stroke="#1677ff" stroke-width="4"><circle cx="48" cy="36" r="20"/><path d="M12 92c4-20 18-30 36-30s32 10 36 30"/></svg>';

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f6fa;color:#1f2329}
header{background:#1677ff;color:#fff;padding:14px 16px;font-size:17px;text-align:center}
main{max-width:420px;margin:0 auto;padding:20px 16px}
.card{background:#fff;border-radius:12px;padding:20px;margin-bottom:16px;text-align:center}
.face{width:160px;height:160px;border-radius:50%;border:4px dashed #1677ff;margin:8px auto 16px;display:flex;align-items:center;justify-content:center;font-size:48px;font-weight:600}
.face svg{width:96px;height:96px}.ok{color:#00b42a;border-color:#00b42a}.no{color:#d03050;border-color:#d03050}
.who{color:#646a73;line-height:1.8}
button{display:block;width:100%;padding:14px;border:0;border-radius:24px;font-size:16px;margin-top:12px}
.pass{background:#1677ff;color:#fff}.fail{background:#fff;color:#d03050;border:1px solid #d03050}
.note{font-size:12px;color:#8f959e;text-align:center}
</style></head><body><header>e签宝 · 刷脸认证（模拟）</header><main>${body}</main></body></html>`;
}

export interface FacePageInput {
  name: string | null;
  idNumber: string | null;
  /** Where the form posts the result. */
  action: string;
}

export function facePage(input: FacePageInput): string {
  const who =
    input.name && input.idNumber
      ? `<div class="who">认证人：${escapeHtml(maskName(input.name))}<br>证件号：${escapeHtml(maskId(input.idNumber))}</div>`
      : '';
  return shell(
    '刷脸认证',
    `<div class="card"><div class="face" aria-hidden="true">${FACE_OUTLINE}</div>
<p>请将面部置于圆框内，保持光线充足</p>${who}</div>
<form method="post" action="${escapeHtml(input.action)}">
<button class="pass" type="submit" name="result" value="pass">模拟认证通过</button>
<button class="fail" type="submit" name="result" value="fail">模拟认证不通过</button>
</form>
<p class="note">这是本地模拟的 e签宝 页面，不会采集任何人脸信息。</p>`,
  );
}

export function finishedPage(passed: boolean): string {
  return shell(
    '认证已结束',
    `<div class="card"><div class="face ${passed ? 'ok' : 'no'}" aria-hidden="true">${passed ? '✓' : '✕'}</div>
<p>${passed ? '认证已通过' : '认证未通过'}，请返回办理页面。</p></div>`,
  );
}

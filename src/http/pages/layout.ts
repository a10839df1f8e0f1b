/** Minimal, dependency-free HTML for the person's phone. Every dynamic value goes through `esc`. */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;background:#f4f6f9;color:#1f2329;line-height:1.5}
main{max-width:480px;margin:0 auto;padding:24px 16px calc(24px + env(safe-area-inset-bottom))}
h1{font-size:22px;line-height:1.4;margin:8px 0 16px}
.card{background:#fff;border-radius:12px;padding:4px 16px;margin-bottom:16px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.row{display:flex;justify-content:space-between;align-items:center;gap:16px;padding:12px 0;border-bottom:1px solid #f0f1f3;font-size:16px}
.row:last-child{border:0}
.row .label{flex:none;color:#646a73}
.row .value{text-align:right;word-break:break-all;font-variant-numeric:tabular-nums}
.notice{background:#fffbe6;border:1px solid #ffe58f;border-radius:8px;padding:10px 12px;font-size:14px;line-height:1.6;color:#614700;margin:0 0 16px}
.muted{color:#646a73;font-size:15px;line-height:1.7}
label.consent{display:flex;gap:10px;align-items:flex-start;font-size:15px;line-height:1.6;margin:8px 0 20px}
label.consent input{width:22px;height:22px;flex:none;margin:1px 0 0;accent-color:#1677ff}
button{display:block;width:100%;min-height:48px;border:0;border-radius:24px;font:inherit;font-size:17px;margin-bottom:12px;cursor:pointer}
.primary{background:#1677ff;color:#fff}.primary:active{background:#0958d9}
.secondary{background:#fff;color:#d4380d;border:1px solid #d4380d}
.sandbox-tools{margin:28px 0 0;padding:12px 16px 4px;border:1px dashed #c9cdd4;border-radius:12px}
.sandbox-tools legend{padding:0 6px;font-size:14px;color:#646a73}
.field-label{display:block;font-size:15px;margin:4px 0 6px}
select{display:block;width:100%;min-height:44px;font:inherit;font-size:16px;padding:0 12px;margin-bottom:12px;border:1px solid #c9cdd4;border-radius:8px;background:#fff;color:#1f2329}
.error{color:#d4380d;background:#fff2f0;border:1px solid #ffccc7;border-radius:8px;padding:8px 12px;font-size:15px;margin:0 0 12px}
.message{text-align:center;padding-top:40px}
.message .icon{display:block;width:64px;height:64px;margin:0 auto 16px}
.message h1{margin-bottom:8px}
.message p{margin:0 auto 8px;text-wrap:balance}
`;

/** Icons drawn inline, so they look the same on every phone whatever its emoji font. */
const ICONS = {
  success:
    '<circle cx="32" cy="32" r="32" fill="#52c41a"/><path d="M18 33l9 9 19-20" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>',
  failure:
    '<circle cx="32" cy="32" r="32" fill="#ff4d4f"/><path d="M22 22l20 20M42 22L22 42" stroke="#fff" stroke-width="5" stroke-linecap="round"/>',
  clock:
    '<circle cx="32" cy="32" r="32" fill="#faad14"/><circle cx="32" cy="32" r="17" fill="none" stroke="#fff" stroke-width="4"/><path d="M32 22v11l7 5" fill="none" stroke="#fff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/>',
  unknown:
    '<circle cx="32" cy="32" r="32" fill="#8a8f99"/><path d="M24 25a8 8 0 1 1 12 6.9c-2.4 1.4-4 3-4 5.6V39" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round"/><circle cx="32" cy="47" r="3.2" fill="#fff"/>',
} as const;

/** The emoji callers name an icon with, and the drawing each stands for. */
const ICON_FOR = {
  '✅': 'success',
  '❌': 'failure',
  '⌛': 'clock',
  '⏳': 'clock',
  '⏱': 'clock',
  '❓': 'unknown',
} as const;

export type PageIcon = keyof typeof ICON_FOR;

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover">
<meta name="robots" content="noindex">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

export function messagePage(title: string, icon: PageIcon, lines: string[]): string {
  return page(
    title,
    `<div class="message"><svg class="icon" viewBox="0 0 64 64" aria-hidden="true" data-icon="${ICON_FOR[icon]}">${
      ICONS[ICON_FOR[icon]]
    }</svg><h1>${esc(title)}</h1>${lines.map((l) => `<p class="muted">${esc(l)}</p>`).join('')}</div>`,
  );
}

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/** Minimal, dependency-free HTML for the person's phone. Every dynamic value goes through `esc`. */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f4f6f9;color:#1f2329}
main{max-width:480px;margin:0 auto;padding:24px 16px}
h1{font-size:20px;margin:8px 0 16px}
.card{background:#fff;border-radius:12px;padding:16px;margin-bottom:16px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.row{display:flex;justify-content:space-between;padding:8px 0;border-bottom:1px solid #f0f1f3;font-size:16px}.row:last-child{border:0}
.muted{color:#8a8f99;font-size:14px;line-height:1.6}
label.consent{display:flex;gap:8px;align-items:flex-start;font-size:14px;line-height:1.6;margin:8px 0 16px}
label.consent input{width:20px;height:20px;flex:none;margin-top:2px}
button{display:block;width:100%;min-height:48px;border:0;border-radius:24px;font-size:17px;margin-bottom:12px}
.primary{background:#1677ff;color:#fff}.secondary{background:#fff;color:#d4380d;border:1px solid #d4380d}
.icon{font-size:56px;text-align:center;margin:24px 0 8px}.center{text-align:center}
.error{color:#d4380d;font-size:14px}select{width:100%;min-height:40px;font-size:15px;margin-bottom:12px}
`;

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

export function messagePage(title: string, icon: string, lines: string[]): string {
  return page(
    title,
    `<div class="icon" aria-hidden="true">${icon}</div><h1 class="center">${esc(title)}</h1>${lines
      .map((l) => `<p class="muted center">${esc(l)}</p>`)
      .join('')}`,
  );
}

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

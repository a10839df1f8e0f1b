import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CONSENT_TEXTS, currentConsentVersion } from '../../domain/consent.js';
import type { ServiceDeps } from '../../services/deps.js';
import { getSandboxPage, type SandboxPage, submitSandboxPage } from '../../services/flows/sandbox.js';
import { esc, PAGE_HEADERS, page } from '../pages/layout.js';
import { linkOverPage, linkUnknownPage } from '../pages/link-pages.js';

const FAIL_REASONS = ['人脸比对未通过', '活体检测未通过', '用户取消认证'];

function facePage(id: string, view: SandboxPage, error?: string): string {
  return page(
    '人脸识别实名认证',
    `<h1>人脸识别实名认证</h1>
<p class="notice">测试环境（沙箱）页面，不会采集真实人脸信息。正式环境中，此处由 e签宝 进行人脸识别。</p>
<div class="card">
  <div class="row"><span class="label">姓名</span><span class="value" data-testid="name">${esc(view.person.name)}</span></div>
  <div class="row"><span class="label">身份证号</span><span class="value" data-testid="id-number">${esc(view.person.idNumber)}</span></div>
  <div class="row"><span class="label">链接有效期至</span><span class="value">${esc(view.expire.slice(0, 16).replace('T', ' '))}</span></div>
</div>
<form method="post" action="/h5/sandbox/${esc(id)}">
  ${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
  <input type="hidden" name="consentVersion" value="${currentConsentVersion('zh-CN')}">
  <label class="consent"><input type="checkbox" name="consent" value="yes" required>
    <span>${esc(CONSENT_TEXTS['zh-CN'])}</span></label>
  <button class="primary" type="submit" name="result" value="success">开始人脸识别</button>
  <fieldset class="sandbox-tools">
    <legend>沙箱测试工具</legend>
    <label class="field-label" for="reason">失败原因</label>
    <select id="reason" name="reason">${FAIL_REASONS.map((r) => `<option>${esc(r)}</option>`).join('')}</select>
    <button class="secondary" type="submit" name="result" value="fail">模拟认证失败</button>
  </fieldset>
</form>`,
  );
}

/**
 * The page view of sandbox flow `id` while it is pending; otherwise sends the 404 page (unknown id)
 * or the 410 page (flow over) and returns null.
 */
async function pendingView(deps: ServiceDeps, id: string, reply: FastifyReply): Promise<SandboxPage | null> {
  const view = await getSandboxPage(deps, id);
  if (!view) {
    reply.code(404).headers(PAGE_HEADERS).send(linkUnknownPage());
    return null;
  }
  if (view.status !== 'PENDING') {
    reply.code(410).headers(PAGE_HEADERS).send(linkOverPage(view.status));
    return null;
  }
  return view;
}

/** The sandbox provider's face page: mobile-first, Chinese, masked identity, explicit consent. */
export const sandboxH5Route =
  (deps: ServiceDeps): FastifyPluginAsync =>
  async (app) => {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    app.get<{ Params: { id: string } }>(
      '/h5/sandbox/:id',
      { schema: { hide: true } },
      async (request, reply) => {
        const view = await pendingView(deps, request.params.id, reply);
        if (!view) return reply;
        return reply.headers(PAGE_HEADERS).send(facePage(request.params.id, view));
      },
    );

    app.post<{ Params: { id: string }; Body: Record<string, string> | undefined }>(
      '/h5/sandbox/:id',
      { schema: { hide: true } },
      async (request, reply) => {
        const view = await pendingView(deps, request.params.id, reply);
        if (!view) return reply;
        const form = request.body ?? {};
        if (form.consent !== 'yes') {
          return reply
            .code(400)
            .headers(PAGE_HEADERS)
            .send(facePage(request.params.id, view, '请先阅读并勾选同意人脸信息采集。'));
        }
        const success = form.result === 'success';
        const reason = FAIL_REASONS.includes(form.reason ?? '') ? form.reason : FAIL_REASONS[0];
        const flowId = await submitSandboxPage(deps, request.params.id, {
          success,
          reason,
          // Older pages (opened before the version field existed) showed today's text.
          consentVersion: form.consentVersion ?? currentConsentVersion('zh-CN'),
        });
        return reply.redirect(`/h5/result/${flowId}`, 303);
      },
    );
  };

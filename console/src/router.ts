import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import { setUnauthorizedHandler } from './api/http.ts';
import { loadMe, signedIn } from './session.ts';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session. */
    public?: boolean;
    /** Only for admins; viewers see the "no permission" page. */
    admin?: boolean;
    title?: string;
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/login', component: () => import('./pages/LoginPage.vue'), meta: { public: true, title: '登录' } },
  {
    path: '/password',
    component: () => import('./pages/ChangePasswordPage.vue'),
    meta: { title: '修改密码' },
  },
  {
    path: '/',
    component: () => import('./components/AppLayout.vue'),
    children: [
      { path: '', redirect: '/overview' },
      { path: 'overview', component: () => import('./pages/OverviewPage.vue'), meta: { title: '概览' } },
      { path: 'flows', component: () => import('./pages/FlowsPage.vue'), meta: { title: '认证流程' } },
      {
        path: 'flows/:flowId',
        component: () => import('./pages/FlowDetailPage.vue'),
        props: true,
        meta: { title: '流程详情' },
      },
      {
        path: 'deliveries',
        component: () => import('./pages/DeliveriesPage.vue'),
        meta: { title: '结果通知' },
      },
      {
        path: 'clients',
        component: () => import('./pages/ClientsPage.vue'),
        meta: { title: '客户端与令牌', admin: true },
      },
      {
        path: 'audit',
        component: () => import('./pages/AuditPage.vue'),
        meta: { title: '审计日志', admin: true },
      },
      { path: 'forbidden', component: () => import('./pages/ForbiddenPage.vue'), meta: { title: '无权限' } },
      { path: ':rest(.*)*', redirect: '/overview' },
    ],
  },
];

/** Hash history: the gateway serves one index.html at /console/, whatever the page. */
export const router = createRouter({ history: createWebHashHistory(), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  const operator = await loadMe();
  if (!operator) return { path: '/login', query: to.fullPath === '/' ? {} : { next: to.fullPath } };
  if (operator.mustChangePassword && to.path !== '/password') return '/password';
  if (to.meta.admin && operator.role !== 'admin') return '/forbidden';
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · ETC 实名认证控制台` : 'ETC 实名认证控制台';
});

setUnauthorizedHandler(() => {
  signedIn(null);
  const here = router.currentRoute.value;
  if (!here.meta.public) void router.push({ path: '/login', query: { next: here.fullPath } });
});

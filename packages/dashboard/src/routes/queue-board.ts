import { Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { html } from '../html';
import { layout } from '../views/layout';
import type { RouteContext } from './route-context';

/** Where Bull Board is mounted. */
export const QUEUES_PATH = '/queues';

/** Bull Board over every catalog queue (read-only when the dashboard is), or a page saying there are no queues. */
export function queueBoardRoutes(rc: RouteContext): Router {
  const router = Router();
  if (rc.queues.length > 0) {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUES_PATH);
    createBullBoard({
      queues: rc.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: rc.readOnly, allowRetries: !rc.readOnly })),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Engine queues', hideDocsLink: true, miscLinks: [{ text: 'Models (fleet)', url: '/' }] } },
    });
    // Bull Board enforces read-only itself; refusing its writes here as well costs nothing.
    router.use(QUEUES_PATH, (req, res, next) => (req.method === 'GET' ? next() : rc.refuseReadOnly(req, res, next)), serverAdapter.getRouter());
  } else {
    router.get(QUEUES_PATH, (_req, res) => rc.page(res, 200, layout('Queues', rc.ctxOf(res), html`<h1>Queues</h1><p>No Redis is configured (single-machine mode, REDIS_URL unset): there are no queues.</p>`)));
  }
  return router;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PipelineDrawing } from '../../shared/dag/drawing.js';
import { drawingToSvg } from '../drawing/svg.js';
import type { LocalMetrics } from '../observability/prometheus.js';
import { consoleScript } from './bundle.js';
import { consolePage } from './page.js';

/** How often `/events` sends the status. */
export const CONSOLE_REFRESH_MS = 1000;

/** Answers a GET the console serves, or returns false to let the next routes try. */
export type Route = (path: string, request: IncomingMessage, response: ServerResponse) => boolean;

/**
 * The web console's routes: `/` the page, `/console.js` its script, `/graph.svg` the drawing (as
 * `eddy graph --format svg`, with room for live figures), `/events` the status as server-sent
 * events, one report a second.
 */
export function consoleRoutes(metrics: LocalMetrics, drawing: PipelineDrawing, refreshMs = CONSOLE_REFRESH_MS): Route {
  const svg = drawingToSvg(drawing, { metricsLines: true });
  const page = consolePage(drawing.pipeline);
  return (path, request, response) => {
    const send = (contentType: string, body: string) => {
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/':
        send('text/html; charset=utf-8', page);
        return true;
      case '/graph.svg':
        send('image/svg+xml', svg);
        return true;
      case '/console.js':
        consoleScript().then(
          (script) => send('text/javascript; charset=utf-8', script),
          (error: unknown) => {
            response.writeHead(500, { 'content-type': 'text/plain' }).end(`console script: ${String(error)}\n`);
          },
        );
        return true;
      case '/events': {
        response.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        const push = () => response.write(`data: ${JSON.stringify(metrics.status())}\n\n`);
        push();
        const timer = setInterval(push, refreshMs);
        request.on('close', () => clearInterval(timer));
        return true;
      }
      default:
        return false;
    }
  };
}

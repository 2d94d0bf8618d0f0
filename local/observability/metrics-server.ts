import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Route } from '../console/console-routes.js';
import type { LocalMetrics } from './prometheus.js';

/** The Prometheus exporter port of `eddy dev` (9464, the port OpenTelemetry's exporters use). */
export const DEFAULT_METRICS_PORT = 9464;
/** Loopback only, unless asked: the endpoint has no authentication. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface MetricsServerOptions {
  /** @default 9464; 0 picks a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** More GET routes, tried first (the web console: local/console/console-routes.ts). */
  readonly routes?: Route;
}

export interface MetricsServer {
  /** `http://<host>:<port>`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The port is taken, or cannot be bound. */
export class MetricsServerError extends Error {
  override readonly name = 'MetricsServerError';
}

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /status` (JSON, what `eddy status`
 * reads) for a running local pipeline. Read-only: any other method is refused.
 */
export async function serveMetrics(metrics: LocalMetrics, options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const port = options.port ?? DEFAULT_METRICS_PORT;
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const answer = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (options.routes?.(path, request, response)) return;
    if (path === '/metrics') {
      metrics.metrics().then(
        (text) => answer(200, metrics.contentType, text),
        (error: unknown) => answer(500, 'text/plain', `metrics could not be collected: ${String(error)}\n`),
      );
    } else if (path === '/status') {
      answer(200, 'application/json', `${JSON.stringify(metrics.status())}\n`);
    } else if (path === '/') {
      answer(
        200,
        'text/plain',
        `eddy dev: pipeline ${metrics.plan.pipeline}\n/metrics  Prometheus metrics\n/status   stages, lag and watermarks (JSON)\n`,
      );
    } else {
      answer(404, 'text/plain', 'not found: try /metrics or /status\n');
    }
  });
  server.listen(port, host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MetricsServerError(
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is in use: choose another with --metrics-port (0 for any free port)`
        : `cannot serve metrics on ${host}:${port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}`,
    port: bound,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

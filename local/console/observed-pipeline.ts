import { drawPipeline } from '../../shared/dag/drawing.js';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import { operatorLabel } from '../../shared/runtime/operator-counts.js';
import { type MetricsServer, type MetricsServerOptions, serveMetrics } from '../observability/metrics-server.js';
import { OutputTail } from '../observability/output-tail.js';
import { LocalMetrics } from '../observability/prometheus.js';
import { RecentEvents } from '../observability/recent-events.js';
import type { LocalPipeline, LocalPipelineOptions } from '../runner/local-pipeline.js';

/** What watches a local pipeline: its metrics and its last dead letters, late records and errors. */
export interface PipelineObservers {
  readonly metrics: LocalMetrics;
  readonly recent: RecentEvents;
  /** To pass to LocalPipeline.start, so that invocations are timed and failures kept. */
  readonly hooks: Required<Pick<LocalPipelineOptions, 'onInvocation' | 'onInvocationError'>>;
}

export function pipelineObservers(pipeline: Pipeline): PipelineObservers {
  const plan = pipeline.plan();
  const operatorLabels = new Map(
    plan.stages.flatMap((stage) => stage.nodes).map((id) => [id, operatorLabel(pipeline.graph, id)]),
  );
  const metrics = new LocalMetrics({ plan, operatorLabels });
  const recent = new RecentEvents();
  return { metrics, recent, hooks: { onInvocation: metrics.observeInvocation, onInvocationError: recent.addError } };
}

export interface ObservedServer extends MetricsServer {
  /** Whether `/` serves the web console (only on a loopback interface: it has no authentication). */
  readonly console: boolean;
}

/** Loopback addresses: the console is served on these only. */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/**
 * Serves `/metrics` and `/status` of a running local pipeline, and on a loopback interface the web
 * console, while following its dead-letter and late outputs for `/status`'s `recent`.
 */
export async function serveObservedPipeline(
  local: LocalPipeline,
  observers: PipelineObservers,
  options: Omit<MetricsServerOptions, 'routes'> = {},
): Promise<ObservedServer> {
  const { metrics, recent } = observers;
  metrics.attach(local, { kinesisEndpoint: local.endpoint, recent });
  const tail = new OutputTail(local, recent);
  tail.start();
  const withConsole = isLoopback(options.host ?? '127.0.0.1');
  let server: MetricsServer;
  try {
    server = await serveMetrics(metrics, {
      ...options,
      ...(withConsole && {
        // The drawing's layout (dagre) and the page script's bundler load only when there is a console.
        routes: (await import('./console-routes.js')).consoleRoutes(
          metrics,
          drawPipeline(local.pipeline.graph, local.plan),
        ),
      }),
    });
  } catch (error) {
    await tail.stop();
    throw error;
  }
  return {
    url: server.url,
    port: server.port,
    console: withConsole,
    close: async () => {
      await tail.stop();
      await server.close();
    },
  };
}

import { type ObservedServer, pipelineObservers, serveObservedPipeline } from '../console/observed-pipeline.js';
import { feedJsonLines } from '../runner/input-feeder.js';
import { LocalPipeline, type LocalPipelineOptions } from '../runner/local-pipeline.js';
import type { LocalMetrics } from './prometheus.js';

export interface DevSessionOptions extends Omit<LocalPipelineOptions, 'onInvocation' | 'onInvocationError'> {
  /** Port of `/metrics` and `/status`. @default 9464; 0 picks a free port */
  readonly metricsPort?: number;
  /** Interface they listen on. @default '127.0.0.1' */
  readonly metricsHost?: string;
}

export interface FedInput {
  readonly stream: string;
  readonly file: string;
  readonly records: number;
}

/**
 * `eddy dev`: a pipeline running on the local stack until stopped, with its metrics served in
 * Prometheus' format on `/metrics`, its stages' lag and watermarks on `/status`, and the web
 * console on `/` (on a loopback interface).
 */
export class DevSession {
  private constructor(
    readonly local: LocalPipeline,
    readonly metrics: LocalMetrics,
    readonly server: ObservedServer,
  ) {}

  static async start(options: DevSessionOptions): Promise<DevSession> {
    const { metricsPort, metricsHost, ...pipelineOptions } = options;
    const observers = pipelineObservers(options.pipeline);
    const local = await LocalPipeline.start({ ...pipelineOptions, ...observers.hooks });
    let server: ObservedServer;
    try {
      server = await serveObservedPipeline(local, observers, {
        ...(metricsPort !== undefined && { port: metricsPort }),
        ...(metricsHost !== undefined && { host: metricsHost }),
      });
    } catch (error) {
      await local.stop();
      throw error;
    }
    return new DevSession(local, observers.metrics, server);
  }

  /** The source streams, by the pipeline's names. */
  get sources(): string[] {
    return this.local.plan.streams.filter((s) => s.role === 'source').map((s) => s.name);
  }

  /**
   * Puts each line of a JSON-lines file into a source stream, as `eddy run` does, without marking an
   * end of input: the pipeline keeps running, its watermark where the data left it.
   */
  async feed(stream: string, file: string): Promise<FedInput> {
    if (!this.sources.includes(stream)) {
      throw new Error(
        `--input ${stream}: not a source of '${this.local.plan.pipeline}' (sources: ${this.sources.join(', ')})`,
      );
    }
    const fed = await feedJsonLines(this.local.kinesis, this.local.physicalName(stream), file);
    return { stream, file, records: fed.records };
  }

  async stop(): Promise<void> {
    await this.server.close();
    await this.local.stop();
  }
}

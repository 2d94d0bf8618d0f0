import { createHash, randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import { seededRandom } from '../../shared/util/random.js';
import { entriesOf, isBatchTarget, keptRequest, mergedAnswer } from './partial-batches.js';

/**
 * A fault-injecting HTTP proxy in front of kinesalite and dynalite (docs/reliability.md), and of the
 * message sinks' stand-in (local/destinations/destination-stand-in.ts). Calls are told apart by their
 * `X-Amz-Target` header (`Kinesis_20131202.PutRecords`, `DynamoDB_20120810.UpdateItem`,
 * `AmazonSQS.SendMessageBatch`, ...); for a configured share of the calls of chosen APIs it:
 *
 * - `throttle`: answers HTTP 400 ProvisionedThroughputExceededException, without forwarding;
 * - `internalError` / `unavailable`: answers HTTP 500 / 503, without forwarding;
 * - `delay`: holds the call, then forwards it;
 * - `cutBeforeForward`: destroys the client's connection without forwarding (nothing happened);
 * - `cutAfterForward`: forwards the call, waits for its answer, then destroys the client's connection:
 *   the call took effect and the client saw a network error (the hardest case: a retry repeats it);
 * - `partialPutRecords` (PutRecords only): forwards only some of the call's records and answers as
 *   Kinesis does for a partial failure: the others are reported failed (ErrorCode
 *   ProvisionedThroughputExceededException) and were truly not written;
 * - `partialBatch` (SendMessageBatch, PutEvents, PutRecordBatch): the same for the message sinks'
 *   batch calls, answered as each service answers a partial failure (test/helpers/partial-batches.ts).
 *
 * Decisions come from a seeded generator, and every injected fault is counted per API and kind.
 */

export const faultKinds = [
  'throttle',
  'internalError',
  'unavailable',
  'delay',
  'cutBeforeForward',
  'cutAfterForward',
  'partialPutRecords',
  'partialBatch',
] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultRule {
  readonly kind: FaultKind;
  /**
   * The `X-Amz-Target` values the rule applies to, e.g. `Kinesis_20131202.PutRecords`; a value
   * ending in `.*` matches a whole service (`DynamoDB_20120810.*`).
   */
  readonly targets: readonly string[];
  /** Share of the matching calls the fault hits, 0 to 1. */
  readonly rate: number;
  /** `delay`: milliseconds, fixed or drawn from [min, max]. @default [20, 200] */
  readonly delayMs?: number | readonly [number, number];
  /** `partialPutRecords`, `partialBatch`: the chance of each record of a hit call to fail. @default 0.5 */
  readonly recordFailureRate?: number;
  /** Stop after this many hits. @default no limit */
  readonly limit?: number;
  /**
   * Hit at least this many calls when there are enough: while short of it, a matching call is hit
   * once `1 / rate` matching calls in a row went unhit, so that a run with few calls still tests what
   * it claims (the draws alone gave 2 of 3 once in CI). @default 0
   */
  readonly atLeast?: number;
  /** Names the rule in `counts().byLabel`, which counts its hits. */
  readonly label?: string;
  /**
   * Narrows the rule to some calls, e.g. those naming a stream: `(call) => call.body.StreamName === 'x'`
   * (GetRecords names no stream, only an iterator). @default every call of the targets
   */
  readonly when?: (call: { readonly target: string; readonly body: Readonly<Record<string, unknown>> }) => boolean;
}

/**
 * The rules, each labelled one that `atLeast` names owing that many hits (FaultRule.atLeast): a test
 * that asserts a minimum of hits per label then gets them however few calls the draws hit, as long
 * as the run makes `atLeast / rate` matching calls.
 */
export function owingHits(rules: readonly FaultRule[], atLeast: Readonly<Record<string, number>>): FaultRule[] {
  return rules.map((rule) =>
    rule.label !== undefined && atLeast[rule.label] !== undefined ? { ...rule, atLeast: atLeast[rule.label] } : rule,
  );
}

export interface FaultProxyOptions {
  /**
   * Where calls go: one endpoint for everything, or one per service (calls are routed on their
   * `X-Amz-Target` prefix, as LocalStack serves both services on one port).
   */
  readonly upstream: string | { readonly kinesis?: string; readonly dynamodb?: string; readonly destinations?: string };
  readonly rules?: readonly FaultRule[];
  /** Seeds every decision. @default 1 */
  readonly seed?: number;
  /** @default 127.0.0.1; the port is a free one. */
  readonly host?: string;
}

export interface FaultCounts {
  /** Calls seen per `X-Amz-Target` (faulted ones included). */
  readonly calls: Readonly<Record<string, number>>;
  /** Faults injected per `X-Amz-Target` and kind. */
  readonly faults: Readonly<Record<string, Partial<Record<FaultKind, number>>>>;
  /** `partialPutRecords` and `partialBatch`: records reported failed (not written) and records forwarded. */
  readonly partialRecords: { readonly failed: number; readonly forwarded: number };
  /** Calls the upstream could not be reached for (answered by destroying the connection). */
  readonly upstreamErrors: number;
  /** Hits of the rules that have a label. */
  readonly byLabel: Readonly<Record<string, number>>;
}

export interface FaultProxy {
  /** `http://host:port` of the proxy. */
  readonly endpoint: string;
  /** Replaces the rules (an empty list forwards everything untouched). */
  setRules(rules: readonly FaultRule[]): void;
  counts(): FaultCounts;
  /** Faults of a kind injected so far, over every API (or one API). */
  injected(kind: FaultKind, target?: string): number;
  stop(): Promise<void>;
}

const KINESIS_PREFIX = 'Kinesis_20131202.';
const DYNAMODB_PREFIX = 'DynamoDB_20120810.';
/** The message sinks' services (SQS, EventBridge, Firehose), all served by the stand-in. */
const DESTINATION_PREFIXES = ['AmazonSQS.', 'AWSEvents.', 'Firehose_20150804.'];

type Service = 'kinesis' | 'dynamodb' | 'destinations';
const ACCOUNT = '000000000000';

interface ErrorShape {
  readonly status: number;
  readonly type: string;
  readonly message?: string;
}

/** The error bodies the services send (Kinesis and DynamoDB API references, "Common Errors"). */
function errorShape(
  kind: 'throttle' | 'internalError' | 'unavailable',
  service: Service,
  body: Json,
  target: string,
): ErrorShape {
  if (service === 'destinations') {
    // SQS's throttling error of SendMessageBatch, EventBridge's and Firehose's own.
    const throttle = target.startsWith('AmazonSQS.')
      ? 'com.amazonaws.sqs#RequestThrottled'
      : target.startsWith('AWSEvents.')
        ? 'ThrottlingException'
        : 'ServiceUnavailableException';
    const shapes: Record<typeof kind, ErrorShape> = {
      throttle: { status: 400, type: throttle, message: 'Rate exceeded' },
      internalError: { status: 500, type: 'InternalFailure' },
      unavailable: { status: 503, type: 'ServiceUnavailable' },
    };
    return shapes[kind];
  }
  if (service === 'kinesis') {
    const stream = typeof body.StreamName === 'string' ? body.StreamName : 'unknown';
    const shapes: Record<typeof kind, ErrorShape> = {
      throttle: {
        status: 400,
        type: 'ProvisionedThroughputExceededException',
        message: `Rate exceeded for stream ${stream} under account ${ACCOUNT}.`,
      },
      internalError: { status: 500, type: 'InternalFailure' },
      unavailable: { status: 503, type: 'ServiceUnavailable' },
    };
    return shapes[kind];
  }
  const shapes: Record<typeof kind, ErrorShape> = {
    throttle: {
      status: 400,
      type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message:
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    },
    internalError: {
      status: 500,
      type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error',
    },
    unavailable: { status: 503, type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable' },
  };
  return shapes[kind];
}

type Json = Record<string, unknown>;

function serviceOf(target: string | undefined): Service | undefined {
  if (target?.startsWith(KINESIS_PREFIX)) return 'kinesis';
  if (target?.startsWith(DYNAMODB_PREFIX)) return 'dynamodb';
  if (DESTINATION_PREFIXES.some((prefix) => target?.startsWith(prefix))) return 'destinations';
  return undefined;
}

function matches(rule: FaultRule, target: string): boolean {
  return rule.targets.some((t) => (t.endsWith('.*') ? target.startsWith(t.slice(0, -1)) : t === target));
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Starts the proxy on a free port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstreams: Partial<Record<Service, string>> =
    typeof options.upstream === 'string'
      ? { kinesis: options.upstream, dynamodb: options.upstream, destinations: options.upstream }
      : options.upstream;
  const random = seededRandom(options.seed ?? 1);
  let rules: readonly FaultRule[] = options.rules ?? [];
  let hits = new Map<FaultRule, number>();
  const calls: Record<string, number> = {};
  const faults: Record<string, Partial<Record<FaultKind, number>>> = {};
  const partialRecords = { failed: 0, forwarded: 0 };
  const byLabel: Record<string, number> = {};
  let upstreamErrors = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  // Shard maps of streams, for the per-record error messages of partial failures.
  const shardMaps = new Map<string, Promise<{ shardId: string; start: bigint; end: bigint }[]>>();

  const count = (target: string, kind: FaultKind): void => {
    const perTarget = faults[target] ?? {};
    perTarget[kind] = (perTarget[kind] ?? 0) + 1;
    faults[target] = perTarget;
  };

  const unhitInARow = new Map<FaultRule, number>();
  /** The rule hitting this call, if any: one draw per matching rule, in order. */
  const decide = (target: string, body: () => Json): FaultRule | undefined => {
    for (const rule of rules) {
      if (!matches(rule, target)) continue;
      if (rule.when !== undefined && !rule.when({ target, body: body() })) continue;
      if (rule.kind === 'partialPutRecords' && target !== `${KINESIS_PREFIX}PutRecords`) continue;
      if (rule.kind === 'partialBatch' && !isBatchTarget(target)) continue;
      const unhit = (unhitInARow.get(rule) ?? 0) + 1;
      const owed = (hits.get(rule) ?? 0) < (rule.atLeast ?? 0) && unhit >= Math.ceil(1 / rule.rate);
      if (random() >= rule.rate && !owed) {
        unhitInARow.set(rule, unhit);
        continue;
      }
      const used = hits.get(rule) ?? 0;
      if (rule.limit !== undefined && used >= rule.limit) continue;
      hits.set(rule, used + 1);
      unhitInARow.set(rule, 0);
      if (rule.label !== undefined) byLabel[rule.label] = (byLabel[rule.label] ?? 0) + 1;
      return rule;
    }
    return undefined;
  };

  const forward = (
    upstream: string,
    req: IncomingMessage,
    body: Buffer,
    headers: IncomingHttpHeaders = req.headers,
  ): Promise<UpstreamResponse> =>
    new Promise((resolve, reject) => {
      const url = new URL(req.url ?? '/', upstream);
      const outgoing: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) outgoing[name] = value;
      outgoing.host = url.host;
      outgoing['content-length'] = String(body.length);
      const call = httpRequest(url, { method: req.method ?? 'POST', headers: outgoing, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }),
        );
        response.on('error', reject);
      });
      call.on('error', reject);
      call.end(body);
    });

  const reply = (res: ServerResponse, response: UpstreamResponse): void => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers['content-length'] = String(response.body.length);
    res.writeHead(response.status, headers);
    res.end(response.body);
  };

  const replyJson = (res: ServerResponse, service: Service, status: number, data: unknown): void => {
    const body = Buffer.from(JSON.stringify(data));
    res.writeHead(status, {
      'content-type': service === 'dynamodb' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
      'content-length': String(body.length),
      'x-amzn-requestid': randomUUID(),
      ...(service === 'dynamodb' && { 'x-amz-crc32': String(crc32(body)) }),
    });
    res.end(body);
  };

  const shardMap = (upstream: string, req: IncomingMessage, stream: string) => {
    let map = shardMaps.get(stream);
    if (map === undefined) {
      map = forward(upstream, req, Buffer.from(JSON.stringify({ StreamName: stream })), {
        ...req.headers,
        'x-amz-target': `${KINESIS_PREFIX}ListShards`,
      }).then((response) => {
        const shards = (JSON.parse(response.body.toString('utf8')) as { Shards?: Json[] }).Shards ?? [];
        return shards
          .filter((s) => (s.SequenceNumberRange as Json | undefined)?.EndingSequenceNumber === undefined)
          .map((s) => {
            const range = s.HashKeyRange as { StartingHashKey: string; EndingHashKey: string };
            return {
              shardId: String(s.ShardId),
              start: BigInt(range.StartingHashKey),
              end: BigInt(range.EndingHashKey),
            };
          });
      });
      map.catch(() => shardMaps.delete(stream));
      shardMaps.set(stream, map);
    }
    return map;
  };

  /** PutRecords with some records not written, answered as Kinesis answers a partial failure. */
  const partialPut = async (
    upstream: string,
    req: IncomingMessage,
    res: ServerResponse,
    request: Json,
    rule: FaultRule,
  ): Promise<void> => {
    const records = (request.Records as Json[] | undefined) ?? [];
    const failRate = rule.recordFailureRate ?? 0.5;
    const failed = records.map(() => random() < failRate);
    // A hit is a partial failure: at least one record fails.
    if (records.length > 0 && !failed.includes(true)) failed[Math.floor(random() * records.length)] = true;
    const kept = records.filter((_, i) => !failed[i]);
    let forwarded: Json = { FailedRecordCount: 0, Records: [] };
    if (kept.length > 0) {
      const response = await forward(upstream, req, Buffer.from(JSON.stringify({ ...request, Records: kept })));
      if (response.status !== 200) {
        // The subset itself failed (a bad request, say): the whole call fails as the upstream said.
        reply(res, response);
        return;
      }
      forwarded = JSON.parse(response.body.toString('utf8')) as Json;
    }
    const stream = String(request.StreamName ?? '');
    const shards = await shardMap(upstream, req, stream).catch(() => []);
    const results = (forwarded.Records as Json[] | undefined) ?? [];
    let next = 0;
    let failures = Number(forwarded.FailedRecordCount ?? 0);
    const entries = records.map((record, i) => {
      if (!failed[i]) return results[next++] ?? {};
      failures += 1;
      const hashKey =
        typeof record.ExplicitHashKey === 'string'
          ? BigInt(record.ExplicitHashKey)
          : BigInt(`0x${createHash('md5').update(String(record.PartitionKey)).digest('hex')}`);
      const shard = shards.find((s) => hashKey >= s.start && hashKey <= s.end)?.shardId ?? 'shardId-000000000000';
      return {
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: `Rate exceeded for shard ${shard} in stream ${stream} under account ${ACCOUNT}.`,
      };
    });
    const nFailed = failed.filter(Boolean).length;
    partialRecords.failed += nFailed;
    partialRecords.forwarded += kept.length;
    replyJson(res, 'kinesis', 200, {
      ...forwarded,
      FailedRecordCount: failures,
      Records: entries,
    });
  };

  /** A message sinks' batch call with some entries not taken, answered as the service answers that. */
  const partialBatch = async (
    upstream: string,
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    request: Json,
    rule: FaultRule,
  ): Promise<void> => {
    if (!isBatchTarget(target)) throw new Error(`partialBatch on ${target}`);
    const entries = entriesOf(target, request);
    const failed = entries.map(() => random() < (rule.recordFailureRate ?? 0.5));
    if (entries.length > 0 && !failed.includes(true)) failed[Math.floor(random() * entries.length)] = true;
    const kept = failed.filter((f) => !f).length;
    let forwarded: Json | undefined;
    if (kept > 0) {
      const response = await forward(upstream, req, Buffer.from(JSON.stringify(keptRequest(target, request, failed))));
      if (response.status !== 200) {
        reply(res, response);
        return;
      }
      forwarded = JSON.parse(response.body.toString('utf8')) as Json;
    }
    partialRecords.failed += entries.length - kept;
    partialRecords.forwarded += kept;
    replyJson(res, 'destinations', 200, mergedAnswer(target, request, failed, forwarded));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const target = typeof req.headers['x-amz-target'] === 'string' ? req.headers['x-amz-target'] : '';
    const service = serviceOf(target) ?? (upstreams.kinesis !== undefined ? 'kinesis' : 'dynamodb');
    const upstream = upstreams[service] ?? upstreams.kinesis ?? upstreams.dynamodb ?? upstreams.destinations;
    if (upstream === undefined) throw new Error(`no upstream for ${target || 'a call without X-Amz-Target'}`);
    calls[target] = (calls[target] ?? 0) + 1;
    let parsed: Json | undefined;
    const parse = (): Json => {
      if (parsed === undefined) {
        try {
          parsed = JSON.parse(body.toString('utf8')) as Json;
        } catch {
          parsed = {};
        }
      }
      return parsed;
    };
    const rule = target === '' ? undefined : decide(target, parse);
    if (rule === undefined) {
      reply(res, await forward(upstream, req, body));
      return;
    }
    switch (rule.kind) {
      case 'throttle':
      case 'internalError':
      case 'unavailable': {
        count(target, rule.kind);
        const shape = errorShape(rule.kind, service, parse(), target);
        replyJson(res, service, shape.status, {
          __type: shape.type,
          ...(shape.message !== undefined && { message: shape.message }),
        });
        return;
      }
      case 'delay': {
        count(target, rule.kind);
        const range = rule.delayMs ?? [20, 200];
        const ms = typeof range === 'number' ? range : range[0] + random() * (range[1] - range[0]);
        await new Promise((resolve) => setTimeout(resolve, ms));
        reply(res, await forward(upstream, req, body));
        return;
      }
      case 'cutBeforeForward':
        count(target, rule.kind);
        req.socket.destroy();
        return;
      case 'cutAfterForward':
        await forward(upstream, req, body);
        count(target, rule.kind);
        req.socket.destroy();
        return;
      case 'partialPutRecords':
        count(target, rule.kind);
        await partialPut(upstream, req, res, parse(), rule);
        return;
      case 'partialBatch':
        count(target, rule.kind);
        await partialBatch(upstream, req, res, target, parse(), rule);
        return;
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => {
        // The upstream is gone or answered garbage: the client sees a dropped connection.
        upstreamErrors += 1;
        req.socket.destroy();
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    setRules(next) {
      rules = next;
      hits = new Map();
    },
    counts: () => ({
      calls: { ...calls },
      faults: Object.fromEntries(Object.entries(faults).map(([target, kinds]) => [target, { ...kinds }])),
      partialRecords: { ...partialRecords },
      upstreamErrors,
      byLabel: { ...byLabel },
    }),
    injected(kind, target) {
      return Object.entries(faults)
        .filter(([t]) => target === undefined || t === target)
        .reduce((sum, [, kinds]) => sum + (kinds[kind] ?? 0), 0);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

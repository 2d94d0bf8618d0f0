import type {
  DestinationDefinition,
  JoinSideNode,
  KeyByNode,
  PipelineNode,
  SinkNode,
  ToDestinationNode,
  ToTableNode,
} from '../dag/graph.js';
import type { PipelineGraph } from '../dag/pipeline-graph.js';
import type { StageSpec } from '../dag/plan-types.js';
import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import { applyFilter, applyFlatMap, applyKeyBy, applyMap, applyVersion } from '../operators/stateless.js';
import { destinationMessageOf } from '../sinks/destinations.js';
import { sinkWriteOf } from '../tables/dynamodb-sink.js';
import { enrichedValue, type RowUpdate } from '../tables/table-operator.js';
import { type Decoder, shuffleDecoder, sourceDecoder } from './decode.js';
import { MAX_ROW_BYTES } from './io/table-store.js';
import { type OperatorIndex, type OperatorTally, operatorIndex, Slot, slotBase } from './operator-counts.js';
import { ownedValue } from './owned-value.js';
import type { Element, ShuffleEnvelope } from './records.js';
import { MAX_RECORD_BYTES, PACK_OVERHEAD_BYTES } from './shuffle-pack.js';
import type { LookupResult } from './table-lookups.js';

/** A record leaving the stage's operators for a stream, before it is tied to its input record. */
export interface Emitted {
  readonly stream: string;
  readonly partitionKey: string;
  readonly data: string;
  /** A message sink's (`toSqs`, ...) deterministic id of the record (sinks/destinations.ts). */
  readonly messageId?: string;
}

/** Receives what one input record produced: outputs, filtered-out values and per-branch failures. */
export interface ElementSink {
  emit(record: Emitted): void;
  filtered(operator: string): void;
  failed(error: RecordProcessingError): void;
  /** The row of a key in a table (`enrich`); only stateless stages look rows up. */
  lookup?(table: string, key: string, operator: string): LookupResult;
  /** An update of a table (`toTable`); only stateless stages keep tables. */
  writeRow?(table: string, update: RowUpdate): void;
  /** The batch's per-operator counters; absent, nothing is counted per operator. */
  readonly tally?: OperatorTally;
}

/** A stage compiled for execution: decode one input record, then push it through the fused operators. */
export interface StageProgram {
  readonly stage: StageSpec;
  readonly decode: Decoder;
  /** Where each operator of the stage counts in an {@link OperatorTally}. */
  readonly operators: OperatorIndex;
  /** Runs one decoded element through every branch; a failing branch does not stop the others. */
  run(element: Element, sink: ElementSink): void;
}

export type Step = (element: Element, sink: ElementSink) => void;

export function compileStage(graph: PipelineGraph, stage: StageSpec): StageProgram {
  const [inputName] = stage.nodes;
  const input = graph.node(inputName ?? '');
  const decode =
    input.kind === 'source'
      ? sourceDecoder(input)
      : input.kind === 'keyBy' || input.kind === 'join'
        ? shuffleDecoder(input)
        : undefined;
  if (decode === undefined) throw new Error(`stage ${stage.id} starts at ${input.kind} '${input.name}', not a stream`);
  const operators = operatorIndex(stage);
  if (stage.stateful) {
    // The window operator runs over the whole batch (window-stage.ts), not record by record.
    return {
      stage,
      decode,
      operators,
      run: () => {
        throw new Error(`stage ${stage.id} keeps state: run it with the window stage runner`);
      },
    };
  }
  const fanOut = compileChildren(graph, input.name, operators);
  return { stage, decode, operators, run: fanOut };
}

/**
 * The operators after `parent` that run in this stage, compiled: what a window's results go through.
 * A stage input's other children run in stages of their own (plan.ts, planStagesOf).
 */
export function compileChildren(graph: PipelineGraph, parent: string, operators: OperatorIndex): Step {
  const steps = graph
    .children(parent)
    .filter((child) => operators.has(child.name))
    .map((child) => compileNode(graph, child, operators));
  if (steps.length === 1 && steps[0] !== undefined) return steps[0];
  const last = steps.length - 1;
  // Every branch but the last gets a copy: a branch that changes its value must not change another's.
  return (element, sink) => {
    steps.forEach((step, index) => {
      step(index === last ? element : { ...element, value: ownedValue(element.value) }, sink);
    });
  };
}

function compileNode(graph: PipelineGraph, node: PipelineNode, operators: OperatorIndex): Step {
  // Counting costs an array increment per element and operator (sink.tally: one per batch).
  const base = slotBase(operators, node.name);
  const out = base + Slot.out;
  const counted = (step: Step) => guarded(base, step);
  switch (node.kind) {
    case 'map': {
      const next = compileChildren(graph, node.name, operators);
      return counted((element, sink) => {
        const value = applyMap(node.name, node.fn, element.value);
        sink.tally?.count(out);
        next({ ...element, value }, sink);
      });
    }
    case 'filter': {
      const next = compileChildren(graph, node.name, operators);
      return counted((element, sink) => {
        const passed = applyFilter(node.name, node.fn, element.value);
        sink.tally?.count(passed ? out : base + Slot.filtered);
        if (passed) next(element, sink);
        else sink.filtered(node.name);
      });
    }
    case 'flatMap': {
      const next = compileChildren(graph, node.name, operators);
      return counted((element, sink) => {
        const values = applyFlatMap(node.name, node.fn, element.value);
        sink.tally?.count(out, values.length);
        // Each output gets its own id so that a sink can tell repeats of one output from distinct outputs.
        // A loop rather than forEach: no closure made per element.
        for (let index = 0; index < values.length; index += 1) {
          next({ ...element, id: `${element.id}/${index}`, value: values[index] }, sink);
        }
      });
    }
    case 'enrich': {
      const next = compileChildren(graph, node.name, operators);
      return counted((element, sink) => {
        const key = applyKeyBy(node.name, node.fn, element.value, 'enrich key');
        if (sink.lookup === undefined)
          throw new Error(`enrich '${node.name}' runs in a stage that cannot look rows up`);
        const found = sink.lookup(node.table, key, node.name);
        // Not fetched yet: this pass over the batch only collects keys, its outputs are dropped.
        if (found.state === 'pending') return;
        // The row is every record of its key's in the batch: each gets a copy of its own.
        const row = found.state === 'found' ? ownedValue(found.row) : undefined;
        const value = enrichedValue(element.value, row, node.type);
        sink.tally?.count(value === undefined ? base + Slot.filtered : out);
        if (value === undefined) sink.filtered(node.name);
        else next({ ...element, value }, sink);
      });
    }
    case 'toTable':
      return counted(writing(out, tableWriter(node)));
    case 'toDynamoDb': {
      const spec = { operator: node.name, key: node.fn, table: graph.table(node.table) };
      const write = {
        ...spec,
        ...(node.version !== undefined && { version: node.version }),
        ...(node.deleted !== undefined && { deleted: node.deleted }),
      };
      return counted(
        writing(out, (element, sink) => {
          if (sink.writeRow === undefined) {
            throw new Error(`toDynamoDb '${node.name}' runs in a stage that cannot write rows`);
          }
          sink.writeRow(node.table, sinkWriteOf(write, element.value, element.eventTime));
        }),
      );
    }
    case 'toDestination':
      return counted(writing(out, destinationWriter(node, graph.destination(node.destination))));
    case 'keyBy':
    case 'joinSide':
      return counted(writing(out, shuffleWriter(node)));
    case 'sink':
      return counted(writing(out, sinkWriter(node)));
    case 'source':
      throw new Error(`source '${node.name}' cannot follow another operator`);
    case 'window':
    case 'process':
    case 'join':
      throw new Error(`${node.kind} '${node.name}' keeps state: it runs in a stateful stage, not in a stateless chain`);
  }
}

/**
 * Counts the element in at the operator whose slots start at `base`; a failure ends the branch it
 * happened in, for this element only, and counts as the operator's dead letter (each operator's step
 * is guarded, so a failure caught here is its own).
 */
function guarded(base: number, step: Step): Step {
  return (element, sink) => {
    sink.tally?.count(base + Slot.in);
    try {
      step(element, sink);
    } catch (error) {
      if (!(error instanceof RecordProcessingError)) throw error;
      sink.tally?.count(base + Slot.deadLettered);
      sink.failed(error);
    }
  };
}

/** An operator that writes each element it takes (a sink, a shuffle, a table): out once written. */
function writing(out: number, step: Step): Step {
  return (element, sink) => {
    step(element, sink);
    sink.tally?.count(out);
  };
}

/** keyBy, and each side of a join (which tags its records with the side). */
function shuffleWriter(node: KeyByNode | JoinSideNode): Step {
  const side = node.kind === 'joinSide' ? (node.side === 'left' ? 'l' : 'r') : undefined;
  return (element, sink) => {
    const key = applyKeyBy(node.name, node.fn, element.value);
    // The fields in the order JSON has them: id, k, t?, s?, v.
    const { id, eventTime: t, value: v } = element;
    const envelope: ShuffleEnvelope =
      t === undefined
        ? side === undefined
          ? { id, k: key, v }
          : { id, k: key, s: side, v }
        : side === undefined
          ? { id, k: key, t, v }
          : { id, k: key, t, s: side, v };
    // The envelope travels in a pack (shuffle-pack.ts), which needs a little room of its own.
    const data = serialise(node.name, envelope, key, MAX_RECORD_BYTES - PACK_OVERHEAD_BYTES);
    sink.emit({ stream: node.stream, partitionKey: key, data });
  };
}

/** `toTable`: the record becomes its key's row, or deletes it. */
function tableWriter(node: ToTableNode): Step {
  return (element, sink) => {
    const key = applyKeyBy(node.name, node.fn, element.value, 'toTable key');
    const deleted = node.deleted !== undefined && applyFilter(node.name, node.deleted, element.value, 'deleted');
    const version = node.version === undefined ? undefined : applyVersion(node.name, node.version, element.value);
    const row = deleted ? undefined : serialise(node.name, element.value, '', MAX_ROW_BYTES, "DynamoDB's item limit");
    if (sink.writeRow === undefined) throw new Error(`toTable '${node.name}' runs in a stage that cannot write rows`);
    sink.writeRow(node.table, {
      key,
      ...(row !== undefined && { row }),
      ...(version !== undefined && { version }),
    });
  };
}

/**
 * `toSqs`, `toEventBridge`, `toFirehose`: the record becomes its destination's message, with its
 * deterministic id; the stage's writer routes it by the destination's name (destination-writer.ts).
 */
function destinationWriter(node: ToDestinationNode, destination: DestinationDefinition): Step {
  const spec = {
    operator: node.name,
    service: destination.service,
    target: destination.name,
    ...(destination.fifo !== undefined && { fifo: destination.fifo }),
    ...(destination.detailType !== undefined && { detailType: destination.detailType }),
    ...(destination.source !== undefined && { source: destination.source }),
  };
  return (element, sink) => {
    const group =
      destination.fifo !== true
        ? undefined
        : node.group === undefined
          ? element.key
          : applyKeyBy(node.name, node.group, element.value, 'message group');
    const message = destinationMessageOf(spec, element.value, element.id, group);
    sink.emit({
      stream: destination.name,
      partitionKey: message.group ?? '',
      data: message.data,
      messageId: message.id,
    });
  };
}

function sinkWriter(node: SinkNode): Step {
  return (element, sink) => {
    if (element.value === undefined) {
      throw new RecordProcessingError({
        reason: DeadLetterReasons.unwritableOutput,
        operator: node.name,
        message: `value is undefined; a sink writes JSON values (did a map forget to return?)`,
      });
    }
    // Keyed records keep their key as partition key so that a consumer sees each key in order;
    // the others spread over the shards by their id.
    const partitionKey = element.key ?? element.id.slice(-256);
    sink.emit({
      stream: node.stream,
      partitionKey,
      data: serialise(node.name, element.value, partitionKey, MAX_RECORD_BYTES),
    });
  };
}

function serialise(
  operator: string,
  value: unknown,
  partitionKey: string,
  maxBytes: number,
  limit = 'the limit of a Kinesis record',
): string {
  let data: string | undefined;
  try {
    data = JSON.stringify(value);
  } catch (error) {
    throw new RecordProcessingError(
      {
        reason: DeadLetterReasons.unwritableOutput,
        operator,
        message: `value is not JSON: ${(error as Error).message}`,
      },
      { cause: error },
    );
  }
  if (data === undefined) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.unwritableOutput,
      operator,
      message: `value of type ${typeof value} cannot be written as JSON`,
    });
  }
  // A UTF-16 unit is at most 3 bytes of UTF-8: most records are far below the limit without counting.
  if ((data.length + partitionKey.length) * 3 <= maxBytes) return data;
  const bytes = Buffer.byteLength(data) + Buffer.byteLength(partitionKey);
  if (bytes > maxBytes) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.unwritableOutput,
      operator,
      message: `record is ${bytes} bytes, over ${maxBytes} bytes, ${limit}`,
    });
  }
  return data;
}

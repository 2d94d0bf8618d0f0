/**
 * The pattern of a CEP operator (a subset of Flink CEP's Pattern API), as an immutable builder:
 * `begin(name, predicate)` then `.next(...)` (strict contiguity) or `.followedBy(...)` (relaxed
 * contiguity, skip till next match), each stage optionally `.times(n)`, `.consecutive()` and
 * `.optional()`. The semantics are stated in shared/process/cep-nfa.ts and docs/cep.md.
 */
import { PipelineDefinitionError } from '../dag/errors.js';

/** How a stage's first event relates to the event before it in the key's event-time order. */
export type Contiguity = 'strict' | 'relaxed';

/** One stage of a pattern, as compiled: what the matcher reads. */
export interface PatternStage<T = unknown> {
  readonly name: string;
  predicate(value: T): boolean;
  /** Between this stage's first event and the event matched before it. */
  readonly contiguity: Contiguity;
  /** How many events the stage takes (Flink's `times(n)`). */
  readonly times: number;
  /** Between the events of the stage itself when `times` > 1: relaxed unless `consecutive()`. */
  readonly inner: Contiguity;
  readonly optional: boolean;
}

/** The largest number of stages: each stage is one bit of a record's predicate mask. */
export const MAX_PATTERN_STAGES = 30;

/**
 * A sequence of stages, built with {@link begin}. Each method returns a new pattern; `times`,
 * `consecutive` and `optional` apply to the last stage.
 *
 * @example
 * begin<Txn>('small', (t) => t.amount < 1).followedBy('large', (t) => t.amount > 500)
 */
export class Pattern<T> {
  /** @internal */
  constructor(readonly stages: readonly PatternStage<T>[]) {}

  /** The next stage's first event must come right after the previous stage's last (strict contiguity). */
  next(name: string, predicate: (value: T) => boolean): Pattern<T> {
    return this.#add(name, predicate, 'strict');
  }

  /** The next stage's first event may come after others that do not satisfy it (relaxed contiguity: skip till next match). */
  followedBy(name: string, predicate: (value: T) => boolean): Pattern<T> {
    return this.#add(name, predicate, 'relaxed');
  }

  /** The last stage takes exactly `n` events (relaxed between them unless `consecutive()`). */
  times(n: number): Pattern<T> {
    const last = this.#last('times');
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new PipelineDefinitionError(
        `pattern: times(${String(n)}) of stage '${last.name}' needs a positive integer`,
      );
    }
    if (last.times !== 1) throw new PipelineDefinitionError(`pattern: stage '${last.name}' has times() already`);
    return this.#replaceLast({ ...last, times: n });
  }

  /** The last stage's events must follow each other with nothing between (strict inner contiguity). */
  consecutive(): Pattern<T> {
    const last = this.#last('consecutive');
    if (last.times === 1) {
      throw new PipelineDefinitionError(`pattern: consecutive() of stage '${last.name}' needs times(n) first`);
    }
    return this.#replaceLast({ ...last, inner: 'strict' });
  }

  /** The last stage may be left out of a match. Neither the first nor the last stage can be optional. */
  optional(): Pattern<T> {
    const last = this.#last('optional');
    if (this.stages.length === 1) {
      throw new PipelineDefinitionError(`pattern: the first stage '${last.name}' cannot be optional`);
    }
    return this.#replaceLast({ ...last, optional: true });
  }

  #add(name: string, predicate: (value: T) => boolean, contiguity: Contiguity): Pattern<T> {
    checkStage(name, predicate);
    if (this.stages.some((s) => s.name === name)) {
      throw new PipelineDefinitionError(`pattern: two stages are named '${name}'; names must be unique`);
    }
    if (this.stages.length >= MAX_PATTERN_STAGES) {
      throw new PipelineDefinitionError(`pattern: more than ${MAX_PATTERN_STAGES} stages`);
    }
    return new Pattern([...this.stages, { name, predicate, contiguity, times: 1, inner: 'relaxed', optional: false }]);
  }

  #last(method: string): PatternStage<T> {
    const last = this.stages.at(-1);
    if (last === undefined) throw new PipelineDefinitionError(`pattern: ${method}() needs a stage first`);
    return last;
  }

  #replaceLast(stage: PatternStage<T>): Pattern<T> {
    return new Pattern([...this.stages.slice(0, -1), stage]);
  }
}

/** Starts a pattern with its first stage: every event that satisfies `predicate` may start a match. */
export function begin<T>(name: string, predicate: (value: T) => boolean): Pattern<T> {
  checkStage(name, predicate);
  return new Pattern<T>([{ name, predicate, contiguity: 'relaxed', times: 1, inner: 'relaxed', optional: false }]);
}

/** Checks a whole pattern before it runs: the last stage cannot be optional (a match would end before it). */
export function checkPattern<T>(pattern: Pattern<T>): readonly PatternStage<T>[] {
  if (!(pattern instanceof Pattern)) {
    throw new PipelineDefinitionError('pattern: expected a pattern built with begin(name, predicate)');
  }
  const last = pattern.stages.at(-1) as PatternStage<T>;
  if (last.optional && pattern.stages.length > 1) {
    throw new PipelineDefinitionError(
      `pattern: the last stage '${last.name}' cannot be optional: a match would end before it`,
    );
  }
  return pattern.stages;
}

function checkStage(name: string, predicate: unknown): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new PipelineDefinitionError('pattern: a stage needs a non-empty name');
  }
  if (typeof predicate !== 'function') {
    throw new PipelineDefinitionError(`pattern: stage '${name}' needs a predicate function (value) => boolean`);
  }
}

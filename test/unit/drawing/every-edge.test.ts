import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { NEXMARK_QUERIES } from '../../../examples/nexmark/queries.js';
import { drawingToHtml } from '../../../local/drawing/html.js';
import { drawingToSvg } from '../../../local/drawing/svg.js';
import { drawingToMermaid, mermaidIds } from '../../../shared/dag/describe.js';
import { type DrawnEdge, drawPipeline, type PipelineDrawing } from '../../../shared/dag/drawing.js';
import type { PipelineNode } from '../../../shared/dag/graph.js';
import { type Pipeline, pipeline, state } from '../../../shared/index.js';
import libraryOperators from '../../e2e/fixtures/library-operators.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url);
const FIXTURES = ['../../infra/fixtures/dead-letter-queue-pipeline.ts', '../../infra/fixtures/timer-pipeline.ts'];

/** Every example that default-exports a pipeline (demo.ts is a script), every Nexmark query, and fixtures for the queue and side outputs. */
async function pipelines(): Promise<[string, Pipeline][]> {
  const files = readdirSync(EXAMPLES).filter((file) => file.endsWith('.ts') && file !== 'demo.ts');
  const examples = await Promise.all(
    files.map(async (file) => [file, (await import(new URL(file, EXAMPLES).href)).default as Pipeline] as const),
  );
  const fixtures = await Promise.all(
    FIXTURES.map(
      async (file) => [file, (await import(new URL(file, import.meta.url).href)).default as Pipeline] as const,
    ),
  );
  return [
    ...examples,
    ...NEXMARK_QUERIES.map((query) => [`nexmark ${query.name}`, query.pipeline] as const),
    ...fixtures,
  ].map(([name, pipeline]) => [name, pipeline]);
}

/** A process function's named output, and a stage with no operator after its input (keyBy straight into a sink). */
function namedOutputsAndPassThrough(): Pipeline {
  const Event = z.object({ key: z.string(), t: z.number() });
  const p = pipeline('named-outputs');
  const events = p.source('events', { schema: Event, eventTime: (e) => e.t });
  events
    .keyBy((e) => e.key, { name: 'by-key' })
    .process(
      { processElement: () => {} },
      { name: 'fn', state: { seen: state.value<number>() }, sideOutputs: ['alerts'] },
    )
    .sink('out');
  events.keyBy((e) => e.key, { name: 'pass-through' }).sink('copied');
  return p;
}

const all: [string, Pipeline][] = [
  ...(await pipelines()),
  ['named outputs and a pass-through stage', namedOutputsAndPassThrough()],
  ['two dedupes on one keyed stream, two stages on it', libraryOperators],
];

/**
 * The edges the plan and the DAG say exist, derived from them rather than listed by hand: stream to
 * each consumer stage, each producer stage to its stream, tables to their readers and from their
 * writers, every stage to the dead-letter queue, and each operator from its parent.
 */
function expectedEdges(
  pipeline: Pipeline,
): { from: (id: string) => boolean; to: (id: string) => boolean; what: string }[] {
  const plan = pipeline.plan();
  const stageOf = new Map<string, string>();
  const drawing = drawPipeline(pipeline.graph, plan);
  for (const stage of drawing.stages) for (const id of stage.nodes) stageOf.set(id, stage.id);
  const inStage = (stage: string) => (id: string) => stageOf.get(id) === stage;
  const is = (expected: string) => (id: string) => id === expected;
  const expected: ReturnType<typeof expectedEdges> = [];
  for (const stream of plan.streams) {
    for (const consumer of stream.consumers)
      expected.push({ from: is(`stream:${stream.name}`), to: inStage(consumer), what: `${stream.name} → ${consumer}` });
    for (const producer of stream.producers)
      expected.push({ from: inStage(producer), to: is(`stream:${stream.name}`), what: `${producer} → ${stream.name}` });
  }
  for (const table of plan.tables ?? []) {
    for (const reader of table.readers)
      expected.push({ from: is(`table:${table.name}`), to: inStage(reader), what: `table ${table.name} → ${reader}` });
    for (const writer of table.writers)
      expected.push({ from: inStage(writer), to: is(`table:${table.name}`), what: `${writer} → table ${table.name}` });
  }
  if (plan.deadLetter.kind === 'queue') {
    for (const stage of plan.stages)
      expected.push({ from: inStage(stage.id), to: is(`queue:${plan.deadLetter.name}`), what: `${stage.id} → queue` });
  }
  // Each operator from its parent: a box, or the stream it writes when it ends its stage.
  for (const stage of plan.stages) {
    const drawnAs = (node: PipelineNode) =>
      node.name !== stage.nodes[0] && (node.kind === 'keyBy' || node.kind === 'sink' || node.kind === 'joinSide')
        ? `stream:${node.stream}`
        : `op:${node.name}`;
    // The input operator: in this stage's box (a second stage on one stream draws its own).
    const from = (parent: PipelineNode) =>
      parent.name === stage.nodes[0]
        ? (id: string) => id.startsWith(drawnAs(parent)) && inStage(stage.id)(id)
        : is(drawnAs(parent));
    for (const name of stage.nodes.slice(1)) {
      const node = pipeline.graph.node(name);
      const parent = pipeline.graph.node(node.parent ?? '');
      expected.push({ from: from(parent), to: is(drawnAs(node)), what: `${parent.name} → ${name}` });
    }
  }
  return expected;
}

function missing(edges: readonly Pick<DrawnEdge, 'from' | 'to'>[], pipeline: Pipeline): string[] {
  return expectedEdges(pipeline)
    .filter((want) => !edges.some((edge) => want.from(edge.from) && want.to(edge.to)))
    .map((want) => want.what);
}

const unxml = (value: string) => value.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));

function svgEdges(svg: string): Pick<DrawnEdge, 'from' | 'to'>[] {
  return [...svg.matchAll(/data-from="([^"]*)" data-to="([^"]*)"/g)].map((m) => ({
    from: unxml(m[1] ?? ''),
    to: unxml(m[2] ?? ''),
  }));
}

function mermaidEdges(text: string, drawing: PipelineDrawing): Pick<DrawnEdge, 'from' | 'to'>[] {
  const back = new Map([...mermaidIds(drawing)].map(([drawn, id]) => [id, drawn]));
  return [...text.matchAll(/^ {2}(\S+) (?:-->|-\.->)(?:\|"[^"]*"\|)? (\S+)$/gm)].map((m) => ({
    from: back.get(m[1] ?? '') ?? `?${m[1]}`,
    to: back.get(m[2] ?? '') ?? `?${m[2]}`,
  }));
}

describe('eddy graph draws every edge of the plan', () => {
  it('covers the joins, side outputs, tables and dead-letter queues the tests are about', () => {
    const passThrough = all.find(([name]) => name.startsWith('named outputs'))?.[1];
    const stage = passThrough?.plan().stages.find((s) => s.nodes.length === 2 && s.nodes[0] === 'pass-through');
    expect(stage).toBeDefined();
    const drawings = all.map(([, pipeline]) => drawPipeline(pipeline.graph, pipeline.plan()));
    const kinds = new Set(drawings.flatMap((d) => d.edges.map((edge) => edge.kind)));
    expect([...kinds].sort()).toEqual(
      ['data', 'dead-letter', 'join', 'late', 'lookup', 'shuffle', 'side-output', 'table'].sort(),
    );
    expect(drawings.some((d) => d.nodes.some((node) => node.kind === 'queue'))).toBe(true);
  });

  describe.each(all)('%s', (_, pipeline) => {
    const drawing = drawPipeline(pipeline.graph, pipeline.plan());

    it('in the drawing', () => {
      expect(missing(drawing.edges, pipeline)).toEqual([]);
      // Every edge ends at something drawn.
      const ids = new Set(drawing.nodes.map((node) => node.id));
      expect(drawing.edges.filter((edge) => !ids.has(edge.from) || !ids.has(edge.to))).toEqual([]);
      // Every stage has a box on the path through it, even one with no operator after its input.
      for (const stage of drawing.stages) expect(stage.nodes.length).toBeGreaterThan(0);
    });

    it('in Mermaid', () => {
      const text = drawingToMermaid(drawing);
      const drawn = mermaidEdges(text, drawing);
      expect(drawn).toHaveLength(drawing.edges.length);
      expect(missing(drawn, pipeline)).toEqual([]);
    });

    it('in SVG, each operator inside its stage, at a readable size', () => {
      const svg = drawingToSvg(drawing);
      const drawn = svgEdges(svg);
      expect(drawn).toHaveLength(drawing.edges.length);
      expect(missing(drawn, pipeline)).toEqual([]);
      // Not scaled to fit: 12 px text however large the graph (q5, q7).
      const size = svg.match(/width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"/);
      expect(size?.[1]).toBe(size?.[3]);
      expect(svg).toContain('font-size="12"');
      const rect = (fragment: string) => {
        const m = fragment.match(/<rect x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)"/);
        return m === null ? undefined : { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) };
      };
      for (const stage of drawing.stages) {
        const cluster = rect(svg.slice(svg.indexOf(`data-stage="${stage.id}"><rect`)));
        for (const id of stage.nodes) {
          const box = rect(svg.slice(svg.indexOf(`data-id="${id}"`)));
          if (cluster === undefined || box === undefined) throw new Error(`${id} or ${stage.id} not drawn`);
          expect(box.x).toBeGreaterThanOrEqual(cluster.x);
          expect(box.y).toBeGreaterThanOrEqual(cluster.y);
          expect(box.x + box.w).toBeLessThanOrEqual(cluster.x + cluster.w + 0.01);
          expect(box.y + box.h).toBeLessThanOrEqual(cluster.y + cluster.h + 0.01);
        }
      }
    });

    it('in HTML, one page with nothing to fetch', () => {
      const html = drawingToHtml(drawing);
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).not.toMatch(/<script|<link|src=|href=/);
      expect(missing(svgEdges(html), pipeline)).toEqual([]);
    });
  });
});

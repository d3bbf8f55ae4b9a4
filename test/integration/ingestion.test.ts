// Ingestion a data scientist can trust: one table written in the dialects real exports use (BOM, CRLF,
// quoted delimiters and line breaks, blank lines, `;` and decimal commas, `n/a` and `1,234` in a numeric
// column, day-first dates, a .txt name), each read into the same types, with every change in the clean
// report, and every raw row of the file predicting (200) with its values sent as the file wrote them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from '../support/platform.js';
import { failureOf } from '../support/run-failure.js';

let p: TestPlatform;
beforeAll(async () => {
  p = await createTestPlatform();
});
afterAll(() => p?.stop());

/** 120 rows: a size, a colour, a day, and whether the size is large (the target). */
function table() {
  const colours = ['red', 'green', 'blue'];
  return Array.from({ length: 120 }, (_, i) => {
    const size = 500 + ((i * 37) % 1000) + (i % 4) * 0.25;
    return { size, colour: colours[i % 3], day: new Date(Date.UTC(2017, 0, 1 + i)), large: size >= 1000 ? 'yes' : 'no' };
  });
}

type Cell = (r: ReturnType<typeof table>[number], i: number) => string;
interface Dialect { sep: string; eol: string; bom: boolean; size: Cell; colour: Cell; day: Cell; blankEvery?: number }

/** The file's text and its rows as the file writes them (strings), which the test sends to predict. */
function write(d: Dialect) {
  const rows = table().map((r, i) => ({ size: d.size(r, i), colour: d.colour(r, i), day: d.day(r, i), large: r.large }));
  const lines = [['size', 'colour', 'day', 'large'].join(d.sep)];
  rows.forEach((r, i) => {
    lines.push([r.size, r.colour, r.day, r.large].join(d.sep));
    if (d.blankEvery && i % d.blankEvery === 0) lines.push('');
  });
  return { text: (d.bom ? '\uFEFF' : '') + lines.join(d.eol) + d.eol, rows };
}

const iso = (r: { day: Date }) => r.day.toISOString().slice(0, 10);
const dmy = (r: { day: Date }) => `${String(r.day.getUTCDate()).padStart(2, '0')}/${String(r.day.getUTCMonth() + 1).padStart(2, '0')}/${r.day.getUTCFullYear()}`;

/** Saves a pipeline on `file` (checked before saving unless `check` is false) and runs it. */
async function pipelineOn(name: string, file: string, source: Record<string, unknown>, check = true) {
  const created = await p.request('POST', `/v1/pipelines${check ? '' : '?check=false'}`, {
    name, source: { kind: 'file', path: file, ...source }, target: 'large', task: 'classification',
    split: { kind: 'random', testFraction: 0.25, seed: 1 },
    model: { hiddenLayers: [8], epochs: 5, learningRate: 0.01, earlyStoppingPatience: 5 },
    promotion: { mustBeatProduction: false, mustBeatBaselines: false },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return p.runPipeline(name);
}

/** Runs a pipeline on the dialect's file and checks the report and predict on every raw row. */
async function readsAsTheTable(name: string, d: Dialect, fileName: string, source: Record<string, unknown> = {}) {
  const { text, rows } = write(d);
  const file = join(p.config.sources.files.roots[0], fileName);
  await writeFile(file, text);
  const run = await pipelineOn(name, file, source);
  if (run.error) throw new Error(`${name}: ${(await failureOf(p, run)).failure.message}`);
  const clean = run.result!.clean;
  expect(clean.ingestion!.columnTypes).toMatchObject({ size: 'number', colour: 'text', large: 'text' });
  expect(clean.inputRows).toBe(120);
  // Each value as a CSV reader gives it: the text between the quotes, when quoted.
  const unquote = (v: string) => (v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replaceAll('""', '"') : v);
  const instances = rows.map((r) => ({ size: unquote(r.size), colour: unquote(r.colour), day: unquote(r.day) }));
  const predicted = await p.request('POST', `/v1/models/${name}/predict`, { instances });
  expect(predicted.status, JSON.stringify(predicted.body).slice(0, 500)).toBe(200);
  expect(predicted.body.predictions).toHaveLength(120);
  return clean;
}

describe('a text table', () => {
  it('with a BOM, CRLF, quoted delimiters and line breaks, and blank lines', async () => {
    const clean = await readsAsTheTable('dialect-excel', {
      sep: ',', eol: '\r\n', bom: true, blankEvery: 40,
      size: (r) => String(r.size), colour: (r, i) => (i % 10 === 0 ? `"${r.colour}, bright\nshade"` : r.colour), day: iso,
    }, 'excel.csv');
    expect(clean.ingestion!.blankRowsIgnored).toBe(3);
    expect(clean.notes).toContain('ignored 3 blank rows of the source');
    expect(clean.ingestion!.columnTypes.day).toBe('text');
  });

  it('with `;` between fields and decimal commas, as its read options say', async () => {
    const clean = await readsAsTheTable('dialect-european', {
      sep: ';', eol: '\n', bom: false, size: (r) => String(r.size).replace('.', ','), colour: (r) => r.colour, day: iso,
    }, 'european.csv', { read: { delimiter: ';', decimal: ',' } });
    expect(clean.ingestion!.text).toMatchObject({ decimal: ',' });
    expect(clean.ingestion!.coercions).toEqual([]);
  });

  it('with n/a and 1,234 in a numeric column: numbers, the n/a missing, each change reported', async () => {
    const clean = await readsAsTheTable('dialect-messy', {
      sep: ',', eol: '\n', bom: false,
      size: (r, i) => (i % 50 === 7 ? 'n/a' : i % 33 === 5 && r.size >= 1000 ? `"${Math.floor(r.size / 1000)},${String(Math.floor(r.size) % 1000).padStart(3, '0')}"` : String(r.size)),
      colour: (r, i) => (i % 60 === 3 ? '' : r.colour), day: iso,
    }, 'messy.csv');
    const changes = Object.fromEntries(clean.ingestion!.coercions.map((c) => [`${c.column}: ${c.change}`, c]));
    expect(changes['size: missing token read as missing']).toMatchObject({ count: 3, examples: ['n/a'] });
    expect(changes['size: read with "," as the thousands separator'].count).toBeGreaterThan(0);
    expect(changes['size: read with "," as the thousands separator'].examples[0]).toMatch(/^\d,\d{3}$/);
    expect(clean.missingByColumn).toMatchObject({ size: 3, colour: 2 });
  });

  it('with day-first dates: refused without a date format, read with one', async () => {
    const d: Dialect = { sep: ',', eol: '\n', bom: false, size: (r) => String(r.size), colour: (r) => r.colour, day: dmy };
    const { text } = write(d);
    const file = join(p.config.sources.files.roots[0], 'dayfirst.csv');
    await writeFile(file, text);
    const checked = await p.request('POST', '/v1/pipelines', {
      name: 'dialect-dayfirst', source: { kind: 'file', path: file }, target: 'large', split: { kind: 'random', testFraction: 0.25, seed: 1 },
    });
    expect(checked.status).toBe(422);
    expect(checked.body.error.message).toMatch(/column "day" holds dates written like "01\/01\/2017".*set source.read.dateFormat/);
    const refused = await pipelineOn('dialect-dayfirst', file, {}, false);
    expect(refused.error).toBeDefined();
    const f = await failureOf(p, refused);
    expect(f.stage).toBe('collect');
    expect(f.failure.type).toBe('InvalidSpec');
    expect(f.failure.message).toMatch(/column "day" holds dates written like "01\/01\/2017", which can be day\/month or month\/day: set source.read.dateFormat/);
    expect(f.maxAttempt).toBe(1);
    const clean = await readsAsTheTable('dialect-dayfirst-ok', d, 'dayfirst2.csv', { read: { dateFormat: '%d/%m/%Y' } });
    expect(clean.ingestion!.columnTypes.day).toBe('date');
  });

  it('named .txt, read as CSV because the source says so', async () => {
    await readsAsTheTable('dialect-txt', { sep: ',', eol: '\n', bom: false, size: (r) => String(r.size), colour: (r) => r.colour, day: iso }, 'export.txt', { format: 'csv' });
  });

  it('with only a header: a clear refusal about rows, not about asOf', async () => {
    const file = join(p.config.sources.files.roots[0], 'empty.csv');
    await writeFile(file, 'size,colour,day,large\n');
    // Its columns are there, so it is saved; the run finds no rows.
    const run = await pipelineOn('dialect-empty', file, {}, false);
    const f = await failureOf(p, run);
    expect(f.stage).toBe('collect');
    expect(f.failure.type).toBe('InvalidSource');
    expect(f.failure.message).toMatch(/the source has no rows$/);
  });
});

describe('a spec whose source lacks a column it names', () => {
  it('is refused when saved, naming each field', async () => {
    const file = join(p.config.sources.files.roots[0], 'plain.csv');
    await writeFile(file, write({ sep: ',', eol: '\n', bom: false, size: (r) => String(r.size), colour: (r) => r.colour, day: iso }).text);
    const res = await p.request('POST', '/v1/pipelines', {
      name: 'lacks-columns', source: { kind: 'file', path: file }, target: 'big', timeColumn: 'when', features: { include: ['size', 'weight'] },
      split: { kind: 'random', testFraction: 0.25, seed: 1 },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['body.target', 'body.timeColumn', 'body.features.include.1']);
    expect(res.body.error.details.issues[0].message).toBe('column "big" is not in the source; its columns are: size, colour, day, large');
    expect((await p.request('GET', '/v1/pipelines/lacks-columns')).status).toBe(404);
  });
});

describe('a spec\'s read options', () => {
  it('are checked when the pipeline is saved', async () => {
    const bad = await p.request('POST', '/v1/pipelines', {
      name: 'bad-read', source: { kind: 'file', path: 'x.csv', read: { decimal: ',', thousands: ',', dateFormat: '%d/%q' } }, target: 'y',
    });
    expect(bad.status).toBe(422);
    const paths = bad.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.source.read.thousands', 'body.source.read.dateFormat']));
  });
});

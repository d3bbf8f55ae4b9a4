// The prediction log's unit of storage: the predicted rows of one model version over one flush, column by
// column in one binary blob (a row in prediction_batches). What the monitor needs and nothing else: when,
// each row's prediction ID, its input values as the request sent them, the model's output and what the
// answer assumed. One INSERT per flush instead of one row per request, and no JSON text for PostgreSQL to
// validate, is what makes logging every request cheap; the monitor reads a window's rows as typed arrays.
//
// Layout: u32 little-endian length of a UTF-8 JSON header, the header, zero padding to 8 bytes, then the
// arrays in the header's order, each starting on an 8-byte boundary:
//   at (Float64, epoch ms) · seq (Float64) · one per field (Float64 for numbers and booleans, NaN =
//   missing; Int32 codes into the header's dictionary for text and dates, -1 = missing) · output
//   (Float32, rows × outputs) · warnings (Uint8 bitmask per row, bit i = ROW_WARNING_KINDS[i]).
import type { ColumnKind } from '../pipelines/fitted-features.js';

export interface BatchField { name: string; kind: ColumnKind }

interface BatchHeader {
  v: 1;
  rows: number;
  fields: BatchField[];
  /** Values per row of the model output: classes (classification) or 1 (regression). */
  outputs: number;
  /** Per field: its dictionary (text and date fields), else null. */
  dictionaries: (string[] | null)[];
}

export interface PredictionBatch {
  rows: number;
  fields: BatchField[];
  outputs: number;
  at: Float64Array;
  seq: Float64Array;
  /** Per field: numbers (NaN: missing) or codes into `dictionaries` (-1: missing). */
  values: (Float64Array | Int32Array)[];
  dictionaries: (string[] | null)[];
  output: Float32Array;
  warnings: Uint8Array;
}

const isCoded = (kind: ColumnKind) => kind === 'categorical' || kind === 'date';
const align8 = (n: number) => (n + 7) & ~7;

/** Collects rows of one model version and writes them as one blob. */
export class PredictionBatchBuilder {
  private at: number[] = [];
  private seq: number[] = [];
  private readonly numbers: number[][];
  private readonly codes: number[][];
  private readonly dictionaries: Map<string, number>[];
  private output: number[] = [];
  private warnings: number[] = [];

  constructor(readonly fields: BatchField[], readonly outputs: number) {
    this.numbers = fields.map(() => []);
    this.codes = fields.map(() => []);
    this.dictionaries = fields.map(() => new Map());
  }

  get rows(): number {
    return this.at.length;
  }

  /**
   * One request's rows: their instances as sent (read field by field), the output (rows × outputs) and each
   * row's warning bits.
   */
  add(at: number, firstSeq: number, instances: readonly unknown[], output: ArrayLike<number>, warnings: ArrayLike<number> | null): void {
    const n = instances.length;
    for (let i = 0; i < n; i++) {
      const row = instances[i];
      const obj = row !== null && typeof row === 'object' ? (row as Record<string, unknown>) : {};
      this.at.push(at);
      this.seq.push(firstSeq + i);
      this.warnings.push(warnings ? warnings[i] : 0);
      for (let j = 0; j < this.fields.length; j++) {
        const v = obj[this.fields[j].name];
        if (isCoded(this.fields[j].kind)) this.codes[j].push(this.code(j, v));
        else this.numbers[j].push(typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
      }
    }
    for (let k = 0; k < n * this.outputs; k++) this.output.push(output[k]);
  }

  private code(j: number, v: unknown): number {
    if (v === null || v === undefined) return -1;
    const text = typeof v === 'string' ? v : String(v);
    const dict = this.dictionaries[j];
    let c = dict.get(text);
    if (c === undefined) dict.set(text, (c = dict.size));
    return c;
  }

  /** The blob; the builder is spent after it. */
  encode(): Uint8Array {
    const rows = this.rows;
    const header: BatchHeader = {
      v: 1, rows, fields: this.fields, outputs: this.outputs,
      dictionaries: this.fields.map((f, j) => (isCoded(f.kind) ? [...this.dictionaries[j].keys()] : null)),
    };
    const arrays: ArrayBufferView[] = [
      Float64Array.from(this.at), Float64Array.from(this.seq),
      ...this.fields.map((f, j) => (isCoded(f.kind) ? Int32Array.from(this.codes[j]) : Float64Array.from(this.numbers[j]))),
      Float32Array.from(this.output), Uint8Array.from(this.warnings),
    ];
    const head = new TextEncoder().encode(JSON.stringify(header));
    let size = align8(4 + head.length);
    for (const a of arrays) size = align8(size) + a.byteLength;
    const blob = new Uint8Array(size);
    new DataView(blob.buffer).setUint32(0, head.length, true);
    blob.set(head, 4);
    let at = align8(4 + head.length);
    for (const a of arrays) {
      at = align8(at);
      blob.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
    return blob;
  }
}

/** A blob back as typed arrays (copied once into an aligned buffer: a Buffer from `pg` may sit at any offset). */
export function decodePredictionBatch(blob: Uint8Array): PredictionBatch {
  const bytes = new Uint8Array(blob.byteLength);
  bytes.set(blob);
  const headLength = new DataView(bytes.buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headLength))) as BatchHeader;
  if (header.v !== 1) throw new Error(`prediction batch format ${String(header.v)} is not one this version reads`);
  const { rows, fields, outputs } = header;
  let at = align8(4 + headLength);
  const take = <T>(make: (buffer: ArrayBuffer, offset: number, length: number) => T, length: number, bytesPer: number): T => {
    at = align8(at);
    const view = make(bytes.buffer, at, length);
    at += length * bytesPer;
    return view;
  };
  const f64 = (n: number) => take((b, o, l) => new Float64Array(b, o, l), n, 8);
  const times = f64(rows);
  const seq = f64(rows);
  const values = fields.map((f) => (isCoded(f.kind) ? take((b, o, l) => new Int32Array(b, o, l), rows, 4) : f64(rows)));
  const output = take((b, o, l) => new Float32Array(b, o, l), rows * outputs, 4);
  const warnings = take((b, o, l) => new Uint8Array(b, o, l), rows, 1);
  return { rows, fields, outputs, at: times, seq, values, dictionaries: header.dictionaries, output, warnings };
}

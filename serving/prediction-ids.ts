// Every predicted row gets an ID, which ground truth is later fed back against (POST …/feedback). An ID is
// this process's token and a row counter: unique across processes and restarts without any coordination
// (the token is 48 random bits), cheap to make on the hot path (one base-36 conversion), and it names
// the prediction log batch that holds the row (the log keeps the token and each row's counter).
import { randomBytes } from 'node:crypto';

export interface PredictionIdParts { token: string; seq: number }

const TOKEN = /^[0-9a-z]{10}$/;
const SEQ = /^[0-9a-z]{1,11}$/;

export class PredictionIds {
  private next = 0;

  constructor(readonly token: string = newToken()) {
    if (!TOKEN.test(token)) throw new Error('a prediction ID token is 10 lowercase base-36 characters');
  }

  /** Reserves `rows` consecutive IDs; returns the first one's counter. */
  take(rows: number): number {
    const first = this.next;
    this.next += rows;
    return first;
  }

  id(seq: number): string {
    return `${this.token}.${seq.toString(36)}`;
  }
}

function newToken(): string {
  // 48 bits as base 36, padded: always 10 characters.
  return BigInt(`0x${randomBytes(6).toString('hex')}`).toString(36).padStart(10, '0');
}

/** An ID's parts, or null when it is not one this platform made. */
export function parsePredictionId(id: string): PredictionIdParts | null {
  const dot = id.indexOf('.');
  if (dot !== 10) return null;
  const token = id.slice(0, 10);
  const seq = id.slice(11);
  if (!TOKEN.test(token) || !SEQ.test(seq)) return null;
  const n = parseInt(seq, 36);
  return Number.isSafeInteger(n) ? { token, seq: n } : null;
}

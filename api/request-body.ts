// A request body's bytes, counted as they arrive and refused the moment they pass the size limit: a
// chunked upload of any size is never buffered whole. On @hono/node-server the bytes come from the Node
// request itself (c.env.incoming): touching the fetch Request's body (c.req.raw.body) would make the
// adapter build a full fetch Request, which costs a predict as much as scoring it. Elsewhere (in-process
// app.request(), other runtimes) they come from the fetch Request's stream.
import type { IncomingMessage } from 'node:http';

/** The body passed the limit; nothing more was read. */
export class BodyTooLarge extends Error {}
/** The client went away (or the connection broke) before the whole body arrived. */
export class BodyCutShort extends Error {}

const EMPTY = Buffer.alloc(0);

/**
 * The Node request's body if all of it (`declared` bytes, its Content-Length) has already arrived, taken
 * synchronously from the request's buffer; else undefined. A small body usually comes in the same packet
 * as its head, and is buffered by the time the handler has awaited once: this saves the predict path the
 * stream's listeners and events. The request is then left flowing, so it ends by itself (the adapter
 * otherwise drains a request it sees unended after the response).
 */
export function takeArrivedBody(incoming: IncomingMessage, declared: number): Buffer | undefined {
  // Only from a paused stream: read() on a flowing one would also emit the chunk as 'data' and lose it here.
  if (!(declared >= 0) || incoming.readableFlowing || incoming.readableLength !== declared || incoming.readableDidRead || incoming.readableEnded) return undefined;
  const body = declared === 0 ? EMPTY : incoming.read() as Buffer | null;
  if (body === null || body.length !== declared) return undefined;
  incoming.resume();
  return body;
}

/** The Node request's body, at most `max` bytes: rejects with BodyTooLarge as soon as more arrive. */
export function readIncoming(incoming: IncomingMessage, max: number): Promise<Buffer> {
  if (incoming.readableEnded) return Promise.reject(new Error('the request body was already read'));
  if (incoming.destroyed) return Promise.reject(new BodyCutShort('the connection closed before the body arrived'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        // Stop pulling bytes off the socket; the 413 closes the connection (see bodyText).
        stop();
        incoming.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0] : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      stop();
      reject(new BodyCutShort(`the body could not be read: ${err.message}`));
    };
    const onClose = () => {
      stop();
      reject(new BodyCutShort('the connection closed before the whole body arrived'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
    // A 'data' listener does not restart a stream someone paused explicitly.
    incoming.resume();
  });
}

/** A fetch body stream's bytes, at most `max`: cancels the stream and rejects with BodyTooLarge beyond. */
export async function readStream(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!body) return EMPTY;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      void reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

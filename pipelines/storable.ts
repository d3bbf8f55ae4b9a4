// What a value must be for the platform to store it and pass it on unchanged: the bounds every integer
// and string a caller sends is checked against (the pipeline spec here, the API's schemas through
// api/schemas/common.ts), so a bad value is a validation error naming its field, never a database or
// gRPC error later.
import { z } from 'zod';

/** The range of a PostgreSQL `integer` (every version and count column). */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

// NUL (PostgreSQL text and jsonb refuse it) or a UTF-16 surrogate that is not half of a pair (it has no
// UTF-8 form: gRPC refuses it, PostgreSQL stores U+FFFD instead). With the `u` flag a well-formed pair is
// one code point above U+FFFF, so only a lone surrogate falls in the class.
const UNSTORABLE = /[\0\uD800-\uDFFF]/u;

export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);

export const STORABLE_TEXT_MESSAGE = 'must not contain NUL (\\u0000) or an unpaired UTF-16 surrogate';

/** A string the platform can store and forward: every free-text string of a request is one. */
export const storableText = () => z.string().refine(isStorableText, STORABLE_TEXT_MESSAGE);

/** An integer that fits a PostgreSQL `integer`, within [min, max]. */
export const int32 = (min = INT32_MIN, max = INT32_MAX) => z.number().int().min(min).max(max);

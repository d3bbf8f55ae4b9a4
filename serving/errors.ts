// Serving's one error type: why a prediction cannot be answered. The API's single error handler maps
// each reason to its HTTP status (api/errors.ts); serving itself knows nothing of HTTP.
export type ServingErrorReason =
  /** The alias asked for points at no version. */
  | 'no_model'
  /** The version asked for does not exist. */
  | 'no_version'
  /** The version exists but cannot be served here: its artifact fails its checksum, is missing, or will not load. */
  | 'unavailable';

export class ServingError extends Error {
  constructor(readonly reason: ServingErrorReason, message: string) {
    super(message);
    this.name = 'ServingError';
  }
}

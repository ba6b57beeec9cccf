/**
 * Shapes of the API that are not one route's request or reply (those live with their route in
 * routes.ts): the error body every failing call answers with, and readiness for `/readyz`.
 */

/** Body of every error response: `{ "error": { "code", "message" } }`. `code` is a WeftErrorCode. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** Readiness as reported by the daemon for `/readyz`. */
export interface Readiness {
  ready: boolean;
  /** Why not ready (one line), when `ready` is false. */
  reason?: string;
}

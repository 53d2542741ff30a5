/**
 * Types of rotor.js, the browser helper for rotor-server (see the comment block at the top of
 * rotor.js for the behaviour in full).
 */

/** The JSON envelope of every rotor-server answer. */
export interface Envelope<T = unknown> {
  statusCode: number;
  data: T | null;
  message: string;
  success: boolean;
  errors?: unknown[];
}

export interface User {
  id: string;
  username: string;
  email: string;
  createdAt: number;
}

export interface RetryPolicy {
  /** Tries in all, the first included (default 4). */
  attempts?: number;
  /** First backoff delay; doubles per try, with jitter (default 250). */
  baseDelayMs?: number;
  /** Cap of one delay, `Retry-After` included (default 4000). */
  maxDelayMs?: number;
  /** No retry starts once the waits would pass this (default 10000). */
  maxTotalWaitMs?: number;
}

export interface ClientOptions {
  /** Where the rotor routes are mounted, e.g. "https://api.example.com/api/v1/users". */
  baseUrl: string;
  retry?: RetryPolicy;
  /** Serialise refreshes across the tabs of this origin with the Web Locks API (default false:
   * the server answers simultaneous refreshes of one token with the same successor). */
  crossTabLock?: boolean;
  /** The fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface RotorRequestInit extends Omit<RequestInit, "body" | "credentials"> {
  /** A plain object or array is sent as JSON with `Content-Type: application/json`. */
  body?: BodyInit | Record<string, unknown> | unknown[] | null;
  /**
   * `true`: also re-send a non-idempotent request after a network failure; `false`: no retry at
   * all (but still one refresh on 401). Default: 503/429 always retried, network failures only
   * for idempotent methods.
   */
  retry?: boolean;
}

/** The only error this module rejects with. */
export class RotorError extends Error {
  readonly name: "RotorError";
  /** HTTP status, 0 for a network failure. */
  readonly status: number;
  /** True only when /refresh-token answered 401: the session is over. */
  readonly signedOut: boolean;
  /** True for 503/429/network failures that outlasted the retry budget: the session is intact. */
  readonly retryable: boolean;
  /** The parsed envelope, when the answer had one. */
  readonly body: Envelope | null;
}

export interface Client {
  /** The normalised base URL (no trailing slash). */
  readonly baseUrl: string;
  /** Logs in; the cookies are set by the server. Resolves to the user (token strings are dropped). */
  login(credentials: { email: string; password: string } | { username: string; password: string }): Promise<User>;
  register(fields: { username: string; email: string; password: string }): Promise<User>;
  /** Ends this session; the server clears both cookies. Resolves also if the session had already ended. */
  logout(): Promise<void>;
  /** Ends every session of the user. */
  logoutAll(): Promise<{ sessionsEnded: number }>;
  /** One refresh, shared by every caller while it is in flight. */
  refresh(): Promise<void>;
  /** fetch() for API calls: relative URLs against baseUrl, credentials included, one refresh on 401. */
  fetch(input: string | URL | Request, init?: RotorRequestInit): Promise<Response>;
  /** Called once per definitive sign-out (a 401 from /refresh-token). Returns an unsubscribe function. */
  onSignedOut(callback: (error: RotorError) => void): () => void;
}

export function createClient(options: ClientOptions): Client;
export default createClient;

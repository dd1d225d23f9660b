/** Calling the Hono app in-process, the way an HTTP client would, with checks every answer must pass. */
import { expect } from 'vitest';
import type { TestStack } from './stack';

export type TestApp = ReturnType<TestStack['app']>;
/** Anything that answers a request the way `app.request` does (an app in-process, or fetch to a server). */
export interface Requester {
  request(path: string, init: RequestInit): Response | Promise<Response>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any;
  text: string;
}

export interface CallOptions {
  /** Bearer token for the Authorization header; omitted when undefined. */
  token?: string;
  /** A value sent as a JSON body with Content-Type application/json. */
  json?: unknown;
  /** A raw body (give the Content-Type in `headers`). */
  body?: string;
  headers?: Record<string, string>;
  /** Error answers must be `{error, message}`; false for the few routes with a body of their own (/readyz). */
  errorShape?: boolean;
}

/**
 * One request through `app.request`. Every answer is checked for what no caller may ever see: a stack
 * trace, or an error without a JSON `{error, message}` body.
 */
export async function call(app: Requester, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  expect(text, `${method} ${path} answered with a stack trace`).not.toContain('    at ');
  const isJson = /application\/json/i.test(res.headers.get('Content-Type') ?? '');
  const parsed: unknown = isJson && text ? JSON.parse(text) : text;
  if (res.status >= 400 && options.errorShape !== false) {
    expect(isJson, `${method} ${path} -> ${res.status} should answer JSON, got: ${text.slice(0, 200)}`).toBe(true);
    expect(parsed).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** The `details[].path` values of a 400 answer. */
export const detailPaths = (res: ApiResponse): string[] =>
  ((res.body?.details ?? []) as { path: string }[]).map((d) => d.path);

/** Deep copy of a JSON value with every object's keys in reverse order. */
export function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * JSON responses, as the OpenWhisk API sends them.
 *
 * @module
 */

/** A JSON response with `status`; `headers` are added to the content type. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

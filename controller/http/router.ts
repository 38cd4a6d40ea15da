/**
 * A small path router. The API has a dozen fixed routes under one prefix, so
 * literal and `:param` segments are all it needs; writing it keeps 404/405
 * answers and the error JSON entirely ours, with no framework to override and
 * no dependency, where a general router (e.g. Hono) would bring its own
 * request/response model for little gain.
 *
 * @module
 */
import { MalformedRequestError } from "../errors.ts";

/** Path parameters of a matched route, percent-decoded. */
export type RouteParams = Readonly<Record<string, string>>;

/** The outcome of {@linkcode Router.match}. */
export type RouteMatch<H> =
  | { readonly kind: "found"; readonly handler: H; readonly params: RouteParams }
  | { readonly kind: "not_found" }
  | { readonly kind: "method_not_allowed"; readonly allowed: readonly string[] };

type Segment = { readonly literal: string } | { readonly param: string };

interface Route<H> {
  readonly method: string;
  readonly segments: readonly Segment[];
  readonly handler: H;
}

/** Maps a method and a path to a handler of type `H`. */
export class Router<H> {
  readonly #routes: Route<H>[] = [];

  /**
   * Adds a route. `pattern` is an absolute path whose segments are literals or
   * `:name` parameters, e.g. `/api/v1/namespaces/:ns/actions/:name`.
   *
   * @throws {TypeError} when the pattern is not absolute or repeats a parameter
   */
  add(method: string, pattern: string, handler: H): this {
    if (!pattern.startsWith("/")) throw new TypeError(`Route "${pattern}" must start with "/"`);
    const segments = splitPath(pattern).map((s): Segment =>
      s.startsWith(":") ? { param: s.slice(1) } : { literal: s }
    );
    const names = segments.flatMap((s) => "param" in s ? [s.param] : []);
    if (new Set(names).size !== names.length) {
      throw new TypeError(`Route "${pattern}" repeats a parameter name`);
    }
    this.#routes.push({ method: method.toUpperCase(), segments, handler });
    return this;
  }

  /**
   * Finds the route for `method` and `pathname`; a trailing slash is ignored.
   *
   * @throws {MalformedRequestError} when a path parameter is not valid percent-encoding
   */
  match(method: string, pathname: string): RouteMatch<H> {
    const parts = splitPath(pathname);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method.toUpperCase()) {
        return { kind: "found", handler: route.handler, params };
      }
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: "method_not_allowed", allowed } : { kind: "not_found" };
  }
}

function splitPath(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): RouteParams | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ("literal" in segment) {
      if (segment.literal !== part) return undefined;
    } else params[segment.param] = decodeSegment(part);
  }
  return params;
}

function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new MalformedRequestError(`path segment "${part}" is not valid percent-encoding`, {
      cause,
    });
  }
}

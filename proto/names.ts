/**
 * Entity names and revisions as they travel between programs.
 *
 * @module
 */
import { z } from "zod";

/** Longest path or name segment accepted, in characters. */
export const MAX_NAME_LENGTH = 256;

const segment = z.string().min(1).max(MAX_NAME_LENGTH).regex(
  /^[^/\s][^/]*$/,
  "must not be empty, start with a space, or contain '/'",
);

/** A fully qualified entity name: `path` is `namespace` or `namespace/package`. */
export const FullyQualifiedName = z.object({
  path: z.string().min(1).max(2 * MAX_NAME_LENGTH + 1).regex(
    /^[^/\s][^/]*(\/[^/\s][^/]*)?$/,
    "must be 'namespace' or 'namespace/package'",
  ),
  name: segment,
  version: z.string().max(64).optional(),
  binding: z.string().max(2 * MAX_NAME_LENGTH + 1).optional(),
});
/** A fully qualified entity name. */
export type FullyQualifiedName = z.infer<typeof FullyQualifiedName>;

/** `path/name`, without version: the form used in etcd keys and queue identities. */
export function entityPath(fqn: FullyQualifiedName): string {
  return `${fqn.path}/${fqn.name}`;
}

/** A document revision such as `3-ab12…`; `null` for an unversioned entity. */
export const Revision = z.string().min(1).max(256).nullable();
/** A document revision. */
export type Revision = z.infer<typeof Revision>;

/** The generation number before the first `-` of a revision; 0 when absent or unparsable. */
export function revisionGeneration(rev: Revision): number {
  if (rev === null) return 0;
  const n = Number.parseInt(rev.split("-", 1)[0] ?? "", 10);
  return Number.isFinite(n) ? n : 0;
}

/** Orders revisions by generation, as documents are updated. */
export function compareRevisions(a: Revision, b: Revision): number {
  return revisionGeneration(a) - revisionGeneration(b);
}

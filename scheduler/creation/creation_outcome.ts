/**
 * What callers ask of creation jobs and what they get back.
 *
 * @module
 */
import type { ActionMetadata, ContainerCreationError } from "@faas/proto";

/** Containers to create for one action revision. */
export interface CreationRequest {
  /** The namespace the containers run for. */
  readonly invocationNamespace: string;
  /** The revision to run; `rev` names it. */
  readonly action: ActionMetadata;
  /** Containers to create, at least 1. */
  readonly count: number;
  /**
   * The action has no container and none on the way: an invoker whose
   * memory is all in use may still make room by giving up a container of an
   * action that holds several. @default {false}
   */
  readonly first?: boolean;
}

/** Which creation, of which action revision. */
export interface OutcomeKey {
  /** The id `create()` returned. */
  readonly creationId: string;
  /** The namespace the container runs for. */
  readonly invocationNamespace: string;
  /** The action path without version. */
  readonly fqn: string;
  /** The action revision (`action.rev`). */
  readonly revision: string;
}

/** How one creation ended. */
export type CreationResult =
  | { readonly kind: "created"; readonly invokerId: string }
  | {
    readonly kind: "failed";
    readonly error: ContainerCreationError;
    readonly reason: string;
    /**
     * True for conditions of the system that may pass (keep activations
     * waiting); false when the action cannot run as it is (fail them now).
     */
    readonly retryable: boolean;
  };

/** How one creation ended, and which it was. */
export type CreationOutcome = OutcomeKey & CreationResult;

/**
 * What a FetchActivation call answers, as a tagged union, and its JSON form in
 * `FetchResponse.activationMessage`: `{"message": <ActivationMessage>}` or
 * `{"message": {"type": "NoActivationMessage" | "NoMemoryQueue" | "ActionMismatch", …}}`.
 *
 * @module
 */
import { z } from "zod";
import { ActivationMessage } from "./activation_message.ts";
import { MalformedFieldError, parseJsonField } from "./json_field.ts";

/** The outcome of one fetch. */
export type FetchResult =
  /** The next activation for this container. */
  | { readonly kind: "activation"; readonly message: ActivationMessage }
  /** The wait window ended with nothing to run: fetch again. */
  | { readonly kind: "no_activation" }
  /** This scheduler has no queue for the action: look the leader up again. */
  | { readonly kind: "no_queue" }
  /** The queue runs another revision of the action: this container is outdated. */
  | { readonly kind: "action_mismatch" };

const WIRE_REASONS = {
  no_activation: {
    type: "NoActivationMessage",
    noActivationMessage: "no activation message exist",
  },
  no_queue: { type: "NoMemoryQueue", noMemoryQueue: "no memory queue exist" },
  action_mismatch: { type: "ActionMismatch", actionMisMatch: "action version does not match" },
} as const;

// Serialized once: these answers are the hot path of idle containers.
const ENCODED_REASONS = {
  no_activation: JSON.stringify({ message: WIRE_REASONS.no_activation }),
  no_queue: JSON.stringify({ message: WIRE_REASONS.no_queue }),
  action_mismatch: JSON.stringify({ message: WIRE_REASONS.action_mismatch }),
} as const;

/** Encodes a result for `FetchResponse.activationMessage`. */
export function encodeFetchResult(result: FetchResult): string {
  if (result.kind === "activation") return `{"message":${JSON.stringify(result.message)}}`;
  return ENCODED_REASONS[result.kind];
}

const Reason = z.object({
  type: z.enum(["NoActivationMessage", "NoMemoryQueue", "ActionMismatch"]),
});
const REASON_RESULTS: Record<z.infer<typeof Reason>["type"], FetchResult> = {
  NoActivationMessage: { kind: "no_activation" },
  NoMemoryQueue: { kind: "no_queue" },
  ActionMismatch: { kind: "action_mismatch" },
};
const Envelope = z.object({ message: z.record(z.string(), z.unknown()) });

/**
 * Decodes `FetchResponse.activationMessage`.
 *
 * @throws {MalformedFieldError} when the text is not one of the known forms
 */
export function decodeFetchResult(text: string): FetchResult {
  const { message } = parseJsonField("activationMessage", text, Envelope);
  const reason = Reason.safeParse(message);
  if (reason.success) return REASON_RESULTS[reason.data.type];
  const activation = ActivationMessage.safeParse(message);
  if (activation.success) return { kind: "activation", message: activation.data };
  throw new MalformedFieldError(
    "activationMessage",
    "neither an ActivationMessage nor a known reason",
  );
}

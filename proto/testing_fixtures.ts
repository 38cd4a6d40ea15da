/**
 * Builders of valid messages for tests across the packages.
 *
 * @module
 */
import { type ActivationMessage, newActivationId } from "./activation_message.ts";
import type { FullyQualifiedName } from "./names.ts";

/** Options for {@linkcode activationFixture}. */
export interface ActivationFixtureOptions {
  namespace?: string;
  action?: Partial<FullyQualifiedName>;
  revision?: string | null;
  blocking?: boolean;
  content?: Record<string, unknown>;
  acceptedAt?: number;
  controllerId?: string;
}

/** A valid ActivationMessage with a fresh id. */
export function activationFixture(options: ActivationFixtureOptions = {}): ActivationMessage {
  const {
    namespace = "guest",
    revision = "1-a",
    blocking = false,
    content = {},
    acceptedAt = Date.now(),
    controllerId = "0",
  } = options;
  return {
    transid: [newActivationId(), acceptedAt],
    action: { path: namespace, name: "hello", version: "0.0.1", ...options.action },
    revision,
    user: {
      subject: namespace,
      namespace: { name: namespace, uuid: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502" },
      rights: ["READ", "PUT", "DELETE", "ACTIVATE"],
      limits: {},
    },
    activationId: newActivationId(),
    rootControllerIndex: { asString: controllerId, instanceType: "controller" },
    blocking,
    content,
    initArgs: [],
    lockedArgs: {},
  };
}

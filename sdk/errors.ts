/**
 * Errors of the container proxy SDK.
 *
 * @module
 */

/**
 * Thrown by an activation handler that cannot run the activation (for example,
 * the container is shutting down): the SDK hands it back to the scheduler with
 * RescheduleActivation so another container runs it.
 */
export class RescheduleActivationError extends Error {
  constructor(message = "The container cannot run this activation", options?: ErrorOptions) {
    super(message, options);
    this.name = "RescheduleActivationError";
  }
}

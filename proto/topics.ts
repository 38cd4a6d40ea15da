/**
 * Kafka topic names. A deployment may put a prefix in front of all of them.
 *
 * @module
 */

/** Topic builders for one prefix. */
export interface Topics {
  /** Activations for the queues a scheduler leads. */
  scheduler(sid: string): string;
  /** Container creation and deletion commands for one invoker. */
  invoker(id: string): string;
  /** Container creation acknowledgements back to a scheduler. */
  creationAck(sid: string): string;
  /** Completions and results back to a controller. */
  completed(controllerId: string): string;
}

/** Returns the topic names under `prefix` (default none). */
export function topics(prefix = ""): Topics {
  if (!/^[A-Za-z0-9._-]{0,100}$/.test(prefix)) {
    throw new RangeError(`Cannot use topic prefix "${prefix}": use letters, digits, '.', '_', '-'`);
  }
  return Object.freeze({
    scheduler: (sid: string) => `${prefix}scheduler${sid}`,
    invoker: (id: string) => `${prefix}invoker${id}`,
    creationAck: (sid: string) => `${prefix}creationAck${sid}`,
    completed: (controllerId: string) => `${prefix}completed${controllerId}`,
  });
}

/**
 * Consumes a scheduler's activation topic and routes each activation to its
 * queue. An offset is committed only once every activation at or before it is
 * released by its queue (handed to a container, completed with an error, or
 * forwarded), so a crash redelivers exactly what was not yet handed over.
 *
 * @module
 */
import { type Bus, type BusRecord, OffsetTracker, type Subscription } from "@faas/bus";
import { ActivationMessage, MalformedFieldError, parseJsonField } from "@faas/proto";
import { recordSpan } from "@faas/telemetry";
import { getLogger } from "@std/log";

const logger = getLogger("scheduler", "feed");

/** Where parsed activations go. */
export interface ActivationSink {
  route(message: ActivationMessage, release: () => void): void;
}

/** Options for {@linkcode startActivationFeed}. */
export interface ActivationFeedOptions {
  readonly bus: Bus;
  readonly topic: string;
  /** Consumer group; the topic name, so a successor resumes where the owner stopped. */
  readonly groupId?: string;
  readonly sink: ActivationSink;
  /** How often released offsets are committed. @default {200} */
  readonly commitIntervalMs?: number;
}

/** A running feed. */
export interface ActivationFeed extends AsyncDisposable {
  readonly ready: Promise<void>;
  /** Malformed records skipped so far. */
  readonly malformed: number;
  close(): Promise<void>;
}

/** Starts consuming `topic`. */
export async function startActivationFeed(options: ActivationFeedOptions): Promise<ActivationFeed> {
  const { bus, topic, groupId = topic, sink, commitIntervalMs = 200 } = options;
  const tracker = new OffsetTracker();
  let malformed = 0;
  const onRecord = (record: BusRecord) => {
    const release = tracker.track(record);
    const message = parseActivation(record);
    if (message) route(sink, message, release);
    else {
      malformed++;
      release();
    }
  };
  const subscription = await bus.subscribe({
    groupId,
    topics: [topic],
    onRecord,
    onRevoke: (partitions) => tracker.forget(partitions),
  });
  const committer = setInterval(() => void commit(subscription, tracker), commitIntervalMs);
  const close = async () => {
    clearInterval(committer);
    await commit(subscription, tracker);
    await subscription.close();
  };
  return {
    ready: subscription.ready,
    get malformed() {
      return malformed;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function route(sink: ActivationSink, message: ActivationMessage, release: () => void): void {
  if (!message.traceContext) return sink.route(message, release);
  const startMs = Date.now();
  sink.route(message, release);
  recordSpan("activation.receive", {
    kind: "consumer",
    parent: message.traceContext,
    attributes: { "faas.activation_id": message.activationId },
    startMs,
    endMs: Date.now(),
  });
}

function parseActivation(record: BusRecord): ActivationMessage | undefined {
  try {
    return parseJsonField("ActivationMessage", record.value, ActivationMessage);
  } catch (error) {
    if (!(error instanceof MalformedFieldError)) throw error;
    logger.warn("Skipped malformed record {topic}/{partition}@{offset}: {reason}", {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      reason: error.message,
    });
    return undefined;
  }
}

async function commit(subscription: Subscription, tracker: OffsetTracker): Promise<void> {
  try {
    await tracker.commitTo(subscription);
  } catch (error) {
    logger.warn("Cannot commit offsets yet: {error}", { error: String(error) });
  }
}

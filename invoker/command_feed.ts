/**
 * Consumes an invoker's command topic `invoker{id}`. Each record is handled on
 * its own (creations take a while and must not queue behind each other); its
 * offset is committed once it and every record before it were handled. A
 * malformed record is logged and skipped; it never blocks the partition.
 *
 * @module
 */
import { type Bus, type BusRecord, OffsetTracker, type Subscription } from "@faas/bus";
import { type ContainerCommand, MalformedFieldError, parseContainerCommand } from "@faas/proto";
import { getLogger } from "@std/log";

const logger = getLogger("invoker", "feed");

/** Options for {@linkcode startCommandFeed}. */
export interface CommandFeedOptions {
  readonly bus: Bus;
  readonly topic: string;
  /** Consumer group. @default the topic name */
  readonly groupId?: string;
  /** Handles one command; a rejection is logged and the record counts as handled. */
  readonly handle: (command: ContainerCommand) => Promise<void>;
  /** How often handled offsets are committed. @default {200} */
  readonly commitIntervalMs?: number;
}

/** A running feed. */
export interface CommandFeed extends AsyncDisposable {
  /** Resolves once the consumer has joined its group. */
  readonly ready: Promise<void>;
  /** Malformed records skipped so far. */
  readonly malformed: number;
  /** Stops taking records, waits for the ones in hand, commits, and leaves the group. */
  close(): Promise<void>;
}

/** Starts consuming `topic`. */
export async function startCommandFeed(options: CommandFeedOptions): Promise<CommandFeed> {
  const { bus, topic, groupId = topic, commitIntervalMs = 200 } = options;
  const intake = new Intake(options.handle);
  const subscription = await bus.subscribe({
    groupId,
    topics: [topic],
    onRecord: (record) => intake.take(record),
    onRevoke: (partitions) => intake.tracker.forget(partitions),
  });
  const committer = setInterval(
    () => void commit(subscription, intake.tracker),
    commitIntervalMs,
  );
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      clearInterval(committer);
      await intake.drain();
      await commit(subscription, intake.tracker);
      await subscription.close();
    })();
  return {
    ready: subscription.ready,
    get malformed() {
      return intake.malformed;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Parses records and hands commands on, tracking which offsets are done. */
class Intake {
  readonly tracker = new OffsetTracker();
  malformed = 0;
  readonly #handle: (command: ContainerCommand) => Promise<void>;
  readonly #inHand = new Set<Promise<void>>();
  #draining = false;

  constructor(handle: (command: ContainerCommand) => Promise<void>) {
    this.#handle = handle;
  }

  take(record: BusRecord): void {
    // Records not taken now are redelivered to the next consumer of the topic.
    if (this.#draining) return;
    const release = this.tracker.track(record);
    const command = parseCommand(record);
    if (!command) {
      this.malformed++;
      return release();
    }
    const work: Promise<void> = this.#handle(command)
      .catch((error) => {
        logger.error("Command {kind} failed: {error}", {
          kind: command.kind,
          error: String(error),
        });
      })
      .finally(() => {
        release();
        this.#inHand.delete(work);
      });
    this.#inHand.add(work);
  }

  /** Stops taking records and waits for the ones in hand. */
  async drain(): Promise<void> {
    this.#draining = true;
    await Promise.all([...this.#inHand]);
  }
}

function parseCommand(record: BusRecord): ContainerCommand | undefined {
  try {
    return parseContainerCommand(record.value);
  } catch (error) {
    // Anything unparsable is skipped, or its offset would hold back every commit.
    logger.warn("Skipped malformed record {topic}/{partition}@{offset}: {reason}", {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      reason: error instanceof MalformedFieldError ? error.message : String(error),
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

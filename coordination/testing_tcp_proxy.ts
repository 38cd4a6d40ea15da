/**
 * A loopback TCP proxy whose connections a test can cut, to break a client's
 * connection to a server that keeps running (and keeps serving others).
 * Not exported.
 *
 * @module
 */

interface Link {
  readonly client: Deno.TcpConn;
  readonly upstream: Deno.TcpConn;
  readonly piping: Promise<unknown>;
}

/** Forwards `127.0.0.1:<port>` to a target address until cut. */
export class TcpProxy implements AsyncDisposable {
  #target: Deno.ConnectOptions;
  #port = 0;
  #listener: Deno.TcpListener | undefined;
  #accepting: Promise<void> = Promise.resolve();
  #links = new Set<Link>();

  private constructor(target: Deno.ConnectOptions) {
    this.#target = target;
  }

  /** Starts forwarding from a free port to `target`. */
  static start(target: Deno.ConnectOptions): TcpProxy {
    const proxy = new TcpProxy(target);
    proxy.#listen();
    return proxy;
  }

  /** The proxy's address as an `http://` URL. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Drops every connection and refuses new ones until {@linkcode TcpProxy.resume}. */
  async cut(): Promise<void> {
    this.#listener?.close();
    this.#listener = undefined;
    await this.#accepting;
    const links = [...this.#links];
    this.#links.clear();
    for (const link of links) closeQuietly(link.client, link.upstream);
    await Promise.allSettled(links.map((link) => link.piping));
  }

  /** Accepts connections again, on the same port. */
  resume(): void {
    this.#listen();
  }

  /** Same as {@linkcode TcpProxy.cut}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.cut();
  }

  #listen(): void {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.#port });
    this.#port = listener.addr.port;
    this.#listener = listener;
    this.#accepting = this.#accept(listener);
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const client of listener) {
        const upstream = await Deno.connect(this.#target).catch(() => undefined);
        if (!upstream) {
          client.close();
          continue;
        }
        const piping = Promise.allSettled([
          client.readable.pipeTo(upstream.writable),
          upstream.readable.pipeTo(client.writable),
        ]).finally(() => closeQuietly(client, upstream));
        this.#links.add({ client, upstream, piping });
      }
    } catch {
      // The listener was closed by cut().
    }
  }
}

function closeQuietly(...conns: Deno.TcpConn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // Already closed by the other side or by the pipe.
    }
  }
}

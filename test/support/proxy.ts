import * as net from 'node:net';

/**
 * A local TCP proxy in front of a real service (PostgreSQL in the fault tests) that a test
 * can cut and restore: while cut, every open connection is reset and new ones are reset on
 * arrival, exactly what a client sees when the database host drops off the network.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;
  /** Connections accepted so far (forwarded or reset). */
  accepted = 0;

  private constructor(private readonly server: net.Server, readonly port: number) {}

  /** Listen on 127.0.0.1 (a free port) and forward to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const holder: { proxy?: TcpProxy } = {};
    const server = net.createServer((client) => holder.proxy!.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    holder.proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return holder.proxy;
  }

  /** `postgres://…@127.0.0.1:<proxy port>/…`: the same URL, through the proxy. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get cutNow(): boolean {
    return this.isCut;
  }

  /** Reset every connection and refuse new ones until `restore()`. */
  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  /** Stop listening and drop every connection (the server's close waits for none). */
  async close(): Promise<void> {
    this.cut();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // A client still reconnecting can land between cut() and close(): reset what is left.
    this.cut();
    await closed;
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    this.accepted++;
    if (this.isCut) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

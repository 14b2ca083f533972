/**
 * A TCP proxy in front of a real server, so one test can take that server away from its own nodes
 * (reset every connection, refuse new ones) and give it back, while the shared server stays up.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** Resets every open connection and refuses new ones until restore(). */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const newServer = () =>
    createServer((client) => {
      const upstream = connect(target.port, target.host);
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  const shut = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  let server = newServer();
  const port = await listen(server, 0);
  let listening = true;
  const cut = async () => {
    const closed = shut(server);
    listening = false;
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };
  return {
    port,
    cut,
    async restore() {
      server = newServer();
      await listen(server, port);
      listening = true;
    },
    async close() {
      if (listening) await cut();
    },
  };
}

/** A proxy in front of the Postgres of `postgresUrl`, and the same URL through it. */
export async function proxiedPostgres(postgresUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(postgresUrl);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxy.port);
  return { proxy, url: viaProxy.toString() };
}

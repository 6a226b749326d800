/**
 * A test sync server over real HTTP on 127.0.0.1: CORS for pages of another
 * port, stopped and started on one port, push answers lost on demand.
 */
import type { TestServer } from "./sync_server.ts";

/** The sync server over HTTP: stopped and started on one port, answers lost on demand. */
export class HttpSyncServer {
  readonly server: TestServer;
  port = 0;
  /** This many push answers are cut off after the server committed. */
  loseAnswers = 0;
  duplicates = 0;
  #http?: Deno.HttpServer<Deno.NetAddr>;

  constructor(server: TestServer) {
    this.server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/sync`;
  }

  start(): void {
    this.#http = Deno.serve(
      { hostname: "127.0.0.1", port: this.port, onListen: () => {} },
      (request) => this.#answer(request),
    );
    this.port = this.#http.addr.port;
  }

  /** Stops listening; the store stays. The /events streams end first, or shutdown would wait for them. */
  async stop(): Promise<void> {
    this.server.renew();
    await this.#http?.shutdown();
    this.#http = undefined;
  }

  async #answer(request: Request): Promise<Response> {
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-allow-methods": "GET, POST",
    };
    if (request.method === "OPTIONS") {
      return new Response(null, { status: 204, headers: cors });
    }
    const response = await this.server.handler(request);
    const isPush = new URL(request.url).pathname.endsWith("/push");
    if (isPush && response.ok) {
      const body = await response.clone().json() as { results: { duplicate: boolean }[] };
      this.duplicates += body.results.filter((result) => result.duplicate).length;
    }
    if (isPush && this.loseAnswers > 0) {
      this.loseAnswers--;
      await response.body?.cancel();
      // The commit happened; the connection breaks before the answer arrives.
      const broken = new ReadableStream({
        start: (controller) => controller.error(new Error("answer lost")),
      });
      return new Response(broken, {
        headers: { ...cors, "content-type": "application/json" },
      });
    }
    const headers = new Headers(response.headers);
    for (const [name, value] of Object.entries(cors)) headers.set(name, value);
    return new Response(response.body, { status: response.status, headers });
  }
}

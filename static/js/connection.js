// The Socket.IO connection: requests as promises, pushes as handlers.

import { io } from "/vendor/socket.io.esm.min.js";

const TIMEOUT_MS = 5000;
export const AUTH_CODES = new Set(["auth_required", "auth_invalid", "auth_expired", "removed"]);
// `unavailable`: the server could not serve the request now (its store out of reach or
// too busy). It is sent again after these delays, each jittered by ±50 % so that many
// browsers do not come back at the same instant; after the last, its error shows.
const RETRY_CODES = new Set(["unavailable"]);
export const RETRY_DELAYS_MS = [250, 500, 1000, 2000];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// WebSocket first where the browser has it: one connection, straight onto the
// server's fast path, no HTTP round trips (and no sticky routing) for the common case.
// Long-polling is the fallback, and the server upgrades it to WebSocket when it can:
// without WebSocket at all the client starts on polling; a refused WebSocket
// (a proxy that blocks it) moves on to polling at once (tryAllTransports).
const TRANSPORTS = typeof WebSocket === "function" ? ["websocket", "polling"] : ["polling"];

export class Connection {
  constructor(token) {
    this.socket = io({ transports: TRANSPORTS, tryAllTransports: true, auth: { token } });
    // A proxy that holds the WebSocket handshake until the connect timeout ends in a
    // connect_error without the server's answer (err.data): the next attempts go the
    // long way, polling first and upgrading when the WebSocket does get through.
    this.socket.on("connect_error", (error) => {
      if (!error?.data) this.socket.io.opts.transports = ["polling", "websocket"];
    });
  }

  /** emit "area:verb" and resolve with ack.data, or reject with a RequestError
   * (after retrying what the server could not serve just now). */
  async request(event, payload = {}) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.send(event, payload);
      } catch (error) {
        if (!RETRY_CODES.has(error.code) || attempt >= RETRY_DELAYS_MS.length) throw error;
        await sleep(RETRY_DELAYS_MS[attempt] * (0.5 + Math.random()));
      }
    }
  }

  /** One try: ack.data, or a RequestError. */
  async send(event, payload) {
    let reply;
    try {
      reply = await this.socket.timeout(TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      throw new RequestError("timeout", `${event}: no answer within ${TIMEOUT_MS} ms`);
    }
    if (!reply?.ok) {
      const error = reply?.error ?? {};
      throw new RequestError(error.code ?? "internal", error.message ?? "request failed");
    }
    return reply.data;
  }

  on(event, handler) {
    this.socket.on(event, handler);
  }

  get connected() {
    return this.socket.connected;
  }

  close() {
    this.socket.disconnect();
  }
}

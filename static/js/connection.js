// The Socket.IO connection: requests as promises, pushes as handlers.

import { io } from "/vendor/socket.io.esm.min.js";

const TIMEOUT_MS = 5000;
export const AUTH_CODES = new Set(["auth_required", "auth_invalid", "auth_expired", "removed"]);

export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class Connection {
  constructor(token) {
    // websocket only: the server refuses long-polling (no sticky sessions needed)
    this.socket = io({ transports: ["websocket"], auth: { token } });
  }

  /** emit "area:verb" and resolve with ack.data, or reject with a RequestError. */
  async request(event, payload = {}) {
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

// The official socket.io-client from npm (static/node_modules, with `ws` and
// `xmlhttprequest-ssl` under Node) with its DEFAULT options: it starts on HTTP
// long-polling and upgrades to WebSocket. Driven by tests/transport/test_clients.py:
// what happens is printed as one JSON object per line on stdout; each line on stdin
// is a request to send, {"id": n, "event": "...", "payload": {...}}, answered with its ack.
"use strict";

const readline = require("node:readline");
const { io } = require("socket.io-client");

const [url, token] = process.argv.slice(2);
const say = (what) => process.stdout.write(`${JSON.stringify(what)}\n`);

const socket = io(url, { auth: { token } }); // default transports: polling, then upgrade
socket.on("connect", () => say({ kind: "connect", transport: socket.io.engine.transport.name }));
socket.on("connect_error", (error) => say({ kind: "connect_error", message: error.message }));
socket.on("disconnect", (reason) => say({ kind: "disconnect", reason }));
socket.io.on("open", () => {
  socket.io.engine.on("upgrade", (transport) => say({ kind: "upgrade", transport: transport.name }));
});
socket.onAny((event, data) => say({ kind: "push", event, data }));

readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  const { id, event, payload } = JSON.parse(line);
  try {
    const reply = await socket.timeout(10000).emitWithAck(event, payload);
    say({ kind: "ack", id, reply, transport: socket.io.engine.transport.name });
  } catch (error) {
    say({ kind: "ack", id, error: String(error) });
  }
});
process.stdin.on("end", () => {
  socket.disconnect();
  process.exit(0);
});

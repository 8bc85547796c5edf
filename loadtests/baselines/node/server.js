// Baseline: a bare Node socket.io 4 server, same wire as the scenario.
// Clients join room "all" on connect; "send" broadcasts "msg" to the room and acks.
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const httpServer = createServer();
const io = new Server(httpServer, { transports: ["websocket"], perMessageDeflate: false });

io.on("connection", (socket) => {
  socket.join("all");
  socket.on("send", (data, ack) => {
    io.to("all").emit("msg", data);
    if (typeof ack === "function") ack(1);
  });
});

httpServer.listen(port, "127.0.0.1");

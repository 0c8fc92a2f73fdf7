// Socket.IO 4.8 chat server measured beside earshot (scripts/bench-socketio).
//
// The same workload as earshot's chat path, in memory only (no
// persistence, no auth): a client joins a room with `join` (acked), then
// sends `msg` events {room, id, t, text}; the server emits the payload to
// everyone in the room, the sender included (as earshot broadcasts to every
// joined member), and acks the sender with {id, t} through Socket.IO's own
// acknowledgement (`43<n>[...]` on the wire).
//
// Usage: node server.js [port]   (or PORT=...; HOST defaults to 127.0.0.1)
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";

const httpServer = createServer();
const io = new Server(httpServer, {
  // WebSocket only, as the load generator speaks it (no long-polling).
  transports: ["websocket"],
  serveClient: false,
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    if (typeof room === "string") socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("msg", (m, ack) => {
    // Like earshot, only a member that joined the room may send to it.
    if (!m || typeof m.room !== "string" || !socket.rooms.has(m.room)) {
      if (typeof ack === "function") ack({ error: "not joined" });
      return;
    }
    io.to(m.room).emit("msg", m);
    if (typeof ack === "function") ack({ id: m.id, t: m.t });
  });
});

httpServer.listen(port, host, () => {
  console.log(`socket.io listening on ${host}:${port} (pid ${process.pid})`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}

"""Fan-out at the transport: encode a broadcast once, write the same frame to everyone.

Server-to-client WebSocket frames are not masked, so one broadcast's frame bytes are
identical for every recipient. python-socketio's stock path spends a task and a queue
hop per recipient (and engine.io re-encodes per socket); here every Socket.IO packet
for a WebSocket client — broadcasts, acks, pings, connect/disconnect — goes through
that client's ``Lane``, without a task or an await. One path for all packets is what
keeps per-socket order: an ack and a broadcast reach the socket in the order they
were sent. Lanes written during one event-loop iteration are flushed together at its
end (the ``Corker``), one write per socket, however many frames it got.

Sessions that start on HTTP long-polling (what socket.io-client and python-socketio
do by default) get the same lane once they upgrade to a WebSocket; while they poll,
python-socketio's stock per-recipient path serves them.

Modules: ``frames`` (the shared frame bytes), ``lane`` and ``corker`` (writing),
``sockets`` (engine.io's socket as ours: heartbeat, lane), ``driver`` (engine.io's
WebSocket driver: handshake, hand-over, upgrade), ``pinger`` (every heartbeat),
``manager`` (python-socketio's client managers) and ``install`` (wiring into a
server). They rely on private parts of python-socketio, python-engineio, aiohttp and
bidict; tests/transport/test_fanout_seams.py names each one and fails when an upgrade
moves it.
"""

from server.fanout.cluster import ClusterFanoutManager
from server.fanout.corker import Corker
from server.fanout.driver import LaneWebSocket, Upgrade
from server.fanout.frames import PING_FRAME, eio_frame, ws_frame
from server.fanout.install import install_lanes
from server.fanout.lane import Lane
from server.fanout.manager import FanoutManager
from server.fanout.pinger import Pinger
from server.fanout.sockets import NO_QUEUE, LaneSocket, TimedSocket

__all__ = [
    "NO_QUEUE",
    "PING_FRAME",
    "ClusterFanoutManager",
    "Corker",
    "FanoutManager",
    "Lane",
    "LaneSocket",
    "LaneWebSocket",
    "Pinger",
    "TimedSocket",
    "Upgrade",
    "eio_frame",
    "install_lanes",
    "ws_frame",
]

"""The media hub of site visits (aiortc): one source per visit, many viewers.

- :mod:`rooms.media.fanout`: encoded video units shared by every viewer (packetized
  once), viewer tracks that start on a key frame.
- :mod:`rooms.media.sources`: where the units come from: a guide's browser (decoded
  once, encoded once) or a server-side feed read with MediaPlayer (H.264 passed
  through, never decoded).
- :mod:`rooms.media.hub`: one visit's peer connections (publisher, viewers).
- :mod:`rooms.media.router`: the hubs of this node, and requests forwarded over the
  engine's pub/sub to the node that hosts a visit's hub.
- :mod:`rooms.media.net`: ICE host addresses and the UDP port range.
"""

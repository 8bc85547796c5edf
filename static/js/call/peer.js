// Signalling between two members of a call: the server relays offers, answers and
// ICE candidates (`call:signal` out, `call:signalled` in).
//
// Who offers: the person who joins offers to everyone already in the call; the others
// answer. After that either side may renegotiate (screen sharing, ICE restarts), and
// the "perfect negotiation" pattern settles offers that cross: per pair, the socket
// with the smaller sid is polite and yields.

const RESTART_AFTER_MS = 3000; // an ICE connection "disconnected" this long is restarted
const CANDIDATE_BATCH_MS = 25; // trickled candidates go out in small batches
const MAX_BATCH = 32;

/** One other member of the call and the RTCPeerConnection to them. */
export class Peer {
  constructor(call, member, initiator) {
    this.call = call;
    this.sid = member.sid;
    this.person = member.person;
    this.polite = call.sid < member.sid;
    this.initiator = initiator;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.tracksAdded = false;
    this.screenSender = null;
    this.outgoing = [];
    this.flushTimer = null;
    this.restartTimer = null;
    this.inbox = Promise.resolve(); // signals are applied one after another
    this.streams = new Map(); // remote stream id -> tile
    this.tile = call.view.addPeer(this);

    const pc = (this.pc = new RTCPeerConnection({ iceServers: call.iceServers }));
    pc.onnegotiationneeded = () => this.negotiate();
    pc.onicecandidate = ({ candidate }) => this.queueCandidate(candidate);
    pc.ontrack = ({ track, streams }) => this.call.view.showTrack(this, track, streams[0]);
    pc.onconnectionstatechange = () => this.call.view.peerState(this, pc.connectionState);
    pc.oniceconnectionstatechange = () => this.iceStateChanged();
    if (initiator) this.addLocalTracks();
  }

  addLocalTracks() {
    this.tracksAdded = true;
    const { camera, screen } = this.call;
    for (const kind of ["audio", "video"]) {
      const track = camera?.getTracks().find((t) => t.kind === kind);
      if (track) this.pc.addTrack(track, camera);
      // nothing of this kind to send: the offer still asks to receive it
      else if (this.initiator) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }
    if (screen) this.addScreen(screen);
  }

  async negotiate() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send({ description: this.pc.localDescription.toJSON() });
    } catch (error) {
      console.warn("negotiation failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  receive(signal) {
    this.inbox = this.inbox.then(() => this.apply(signal)).catch((error) => console.warn("signal failed", error));
  }

  async apply({ description, candidates }) {
    const pc = this.pc;
    if (pc.signalingState === "closed") return;
    if (description) {
      const collision = description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await pc.setRemoteDescription(description); // the polite side rolls back its own offer
      if (description.type === "offer") {
        if (!this.tracksAdded) this.addLocalTracks(); // reuses the offer's transceivers
        await pc.setLocalDescription();
        this.send({ description: pc.localDescription.toJSON() });
      }
      return;
    }
    for (const candidate of candidates) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) console.warn("bad ICE candidate", error);
      }
    }
  }

  queueCandidate(candidate) {
    if (!candidate?.candidate) return; // null / "": gathering finished
    this.outgoing.push(candidate.toJSON());
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      while (this.outgoing.length) this.send({ candidates: this.outgoing.splice(0, MAX_BATCH) });
    }, CANDIDATE_BATCH_MS);
  }

  send(signal) {
    if (this.closed) return;
    this.call.conn.request("call:signal", { call_id: this.call.id, to: this.sid, ...signal }).catch((error) => {
      if (error.code !== "not_in_room" && error.code !== "not_in_call") console.warn("call:signal", error);
    });
  }

  iceStateChanged() {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.restartTimer);
    if (state === "failed") this.call.restartIce([this]);
    else if (state === "disconnected") {
      this.restartTimer = setTimeout(() => this.call.restartIce([this]), RESTART_AFTER_MS);
    }
  }

  restartIce(iceServers) {
    if (this.pc.signalingState === "closed") return;
    if (iceServers) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    this.pc.restartIce(); // fires negotiationneeded: a new offer with new ICE credentials
  }

  addScreen(stream) {
    if (!this.tracksAdded || this.screenSender) return; // added with the others later
    this.screenSender = this.pc.addTrack(stream.getVideoTracks()[0], stream);
  }

  removeScreen() {
    if (!this.screenSender || this.pc.signalingState === "closed") return;
    this.pc.removeTrack(this.screenSender); // renegotiates; the others drop the tile
    this.screenSender = null;
  }

  close() {
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.restartTimer);
    this.pc.close();
    this.call.view.removePeer(this);
  }
}

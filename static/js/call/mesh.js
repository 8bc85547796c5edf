// Video calls: browsers connect peer to peer (a mesh), one Peer per other member;
// the server relays the signalling between members of one call.

import { notify } from "../notice.js";
import { mediaErrorKey, openCamera, openScreen } from "./media.js";
import { Peer } from "./peer.js";

/** The call this browser is in: local media and one Peer per other member. */
export class MeshCall {
  constructor(conn, view) {
    this.conn = conn;
    this.view = view;
    this.id = null;
    this.sid = null;
    this.host = false;
    this.iceServers = [];
    this.camera = null;
    this.screen = null;
    this.peers = new Map(); // sid -> Peer
    this.gone = new Set(); // sids that left: late signals from them are dropped
    this.closed = false;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.onOnline = () => this.restartIce();
  }

  /** Join (throws the server's RequestError: room_full, not_admitted, ...), then
   * open the camera and offer to everyone already in. */
  async join(callId) {
    const reply = await this.conn.request("call:join", { call_id: callId });
    Object.assign(this, { id: reply.call.id, sid: reply.sid, host: reply.host });
    this.iceServers = reply.ice_servers;
    this.view.started(this);
    try {
      this.camera = await openCamera();
    } catch (error) {
      this.view.message(mediaErrorKey(error), { kind: "warning" });
    }
    if (this.closed) {
      this.stopLocal();
      return;
    }
    this.view.showLocal(this.camera);
    window.addEventListener("online", this.onOnline); // a network change: restart ICE
    for (const member of reply.members) this.addPeer(member, true);
    this.markReady();
  }

  addPeer(member, initiator) {
    const peer = new Peer(this, member, initiator);
    this.peers.set(member.sid, peer);
    this.view.counted(this.peers.size + 1);
    if (!member.person.name) {
      // known only from its first signal so far
      this.conn.request("people:get", { person_id: member.person.id }).then(
        (card) => this.view.renamePeer(peer, card),
        () => {},
      );
    }
    return peer;
  }

  // pushes -------------------------------------------------------------------------
  async memberJoined({ member }) {
    await this.ready;
    if (this.closed) return;
    this.gone.delete(member.sid);
    const peer = this.peers.get(member.sid);
    if (peer) this.view.renamePeer(peer, member.person);
    else this.addPeer(member, false); // they offer to us
  }

  async memberLeft({ sid }) {
    await this.ready;
    this.gone.add(sid);
    this.peers.get(sid)?.close();
    this.peers.delete(sid);
    this.view.counted(this.peers.size + 1);
  }

  async signalled(signal) {
    await this.ready;
    if (this.closed || this.gone.has(signal.from)) return;
    const peer =
      this.peers.get(signal.from) ?? this.addPeer({ sid: signal.from, person: { id: signal.person_id, name: "" } }, false);
    peer.receive(signal);
  }

  // local media --------------------------------------------------------------------
  get micOn() {
    return this.camera?.getAudioTracks().some((track) => track.enabled) ?? false;
  }

  get cameraOn() {
    return this.camera?.getVideoTracks().some((track) => track.enabled) ?? false;
  }

  setMic(on) {
    for (const track of this.camera?.getAudioTracks() ?? []) track.enabled = on;
    this.view.controlsChanged(this);
  }

  setCamera(on) {
    for (const track of this.camera?.getVideoTracks() ?? []) track.enabled = on;
    this.view.controlsChanged(this);
  }

  async shareScreen() {
    let stream;
    try {
      stream = await openScreen();
    } catch {
      notify("call.screenFailed", { kind: "warning" });
      return;
    }
    if (this.closed) return stream.getTracks().forEach((track) => track.stop());
    this.screen = stream;
    stream.getVideoTracks()[0].addEventListener("ended", () => this.stopScreen());
    for (const peer of this.peers.values()) peer.addScreen(stream); // renegotiates
    this.view.showScreen(stream);
    this.view.controlsChanged(this);
  }

  stopScreen() {
    if (!this.screen) return;
    for (const peer of this.peers.values()) peer.removeScreen();
    for (const track of this.screen.getTracks()) track.stop();
    this.screen = null;
    this.view.showScreen(null);
    this.view.controlsChanged(this);
  }

  /** New ICE credentials (fresh TURN ones too) and an ICE restart for `peers`. */
  async restartIce(peers = [...this.peers.values()]) {
    if (this.closed || peers.length === 0) return;
    let servers = null;
    try {
      servers = (await this.conn.request("call:ice", {})).ice_servers;
    } catch {
      // keep the old ones
    }
    for (const peer of peers) peer.restartIce(servers);
  }

  // leaving -----------------------------------------------------------------------------
  /** Leave the call; `tellServer` is false when the server ended it for us. */
  close({ tellServer = true } = {}) {
    if (this.closed) return;
    this.closed = true;
    this.markReady();
    window.removeEventListener("online", this.onOnline);
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.stopLocal();
    if (tellServer && this.id) this.conn.request("call:leave", { call_id: this.id }).catch(() => {});
    this.view.stopped();
  }

  stopLocal() {
    for (const stream of [this.camera, this.screen]) for (const track of stream?.getTracks() ?? []) track.stop();
    this.camera = this.screen = null;
  }
}

// Video calls: browsers connect peer to peer (a mesh); the server relays the
// signalling (offers, answers, ICE candidates) between members of one call.
//
// Who offers: the person who joins offers to everyone already in the call; the others
// answer. After that either side may renegotiate (screen sharing, ICE restarts), and
// the "perfect negotiation" pattern settles offers that cross: per pair, the socket
// with the smaller sid is polite and yields.

import { clear, h } from "./dom.js";
import { localize, t } from "./i18n.js";
import { errorKey, notify, notifyError } from "./notice.js";

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };
const RESTART_AFTER_MS = 3000; // an ICE connection "disconnected" this long is restarted
const CANDIDATE_BATCH_MS = 25; // trickled candidates go out in small batches
const MAX_BATCH = 32;

/** The message that explains why the camera/microphone could not be opened. */
function mediaErrorKey(error) {
  return error?.name === "NotAllowedError" || error?.name === "SecurityError" ? "call.cameraDenied" : "call.noCamera";
}

/** Camera and microphone; just one of them when the other is missing or busy. */
async function openCamera() {
  const media = navigator.mediaDevices;
  try {
    return await media.getUserMedia({ audio: true, video: VIDEO });
  } catch (error) {
    if (!["NotFoundError", "NotReadableError", "OverconstrainedError"].includes(error?.name)) throw error;
    for (const constraints of [{ audio: true }, { video: VIDEO }]) {
      try {
        return await media.getUserMedia(constraints);
      } catch {
        // try the next one
      }
    }
    throw error;
  }
}

function playMuted(video, stream) {
  video.muted = true; // sound goes through an <audio> element: muted video may always autoplay
  video.srcObject = stream;
  video.play().catch(() => {});
}

/** One other member of the call and the RTCPeerConnection to them. */
class Peer {
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
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
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

/**
 * What a call looks like: a message line, the videos, the controls, and for hosts
 * mute/remove buttons on each tile. `slot.append(view.element)` to show it.
 */
export class CallView {
  constructor({ onLeave, hostActions }) {
    this.onLeave = onLeave;
    this.hostActions = hostActions; // (peer) => [buttons] for hosts
    this.call = null;
    this.note = h("p", { class: "call-message", testid: "call-message", role: "alert", hidden: true });
    this.videos = h("div", { class: "call-videos", testid: "call-videos" });
    this.count = h("span", { class: "count", testid: "call-count", hidden: true });
    this.mic = h("button", { type: "button", class: "btn", testid: "call-mic", onclick: () => this.call?.setMic(!this.call.micOn) });
    this.cam = h("button", { type: "button", class: "btn", testid: "call-camera", onclick: () => this.call?.setCamera(!this.call.cameraOn) });
    this.screen = h("button", {
      type: "button",
      class: "btn",
      testid: "call-screen",
      onclick: () => (this.call?.screen ? this.call.stopScreen() : this.call?.shareScreen()),
    });
    this.leave = h("button", { type: "button", class: "btn btn-danger-solid", testid: "call-leave", i18n: "call.leave", onclick: () => this.onLeave() });
    this.stage = h(
      "div",
      { class: "call-stage", hidden: true },
      this.videos,
      h("div", { class: "call-controls", role: "group", i18nAttr: { "aria-label": "call.controls" } }, this.mic, this.cam, this.screen, this.leave),
    );
    this.element = h("div", { class: "call", testid: "call-panel" }, this.note, this.stage);
  }

  get active() {
    return this.call !== null;
  }

  message(key, { kind = "error", args = null } = {}) {
    localize(this.note, key, args);
    this.note.dataset.kind = kind;
    this.note.hidden = false;
  }

  clearMessage() {
    this.note.hidden = true;
    delete this.note.dataset.i18n;
    this.note.textContent = "";
  }

  started(call) {
    this.call = call;
    clear(this.videos);
    this.local = this.tile({ testid: "call-local", name: null });
    this.videos.append(this.local.element);
    this.stage.hidden = false;
    this.counted(1);
    this.controlsChanged(call);
  }

  stopped() {
    this.call = null;
    for (const video of this.videos.querySelectorAll("video, audio")) video.srcObject = null;
    clear(this.videos);
    this.stage.hidden = true;
    this.count.hidden = true;
  }

  counted(n) {
    localize(this.count, "call.people", { count: n });
    this.count.hidden = false;
  }

  tile({ testid, name, sid = null }) {
    const video = h("video", { autoplay: true, playsinline: true });
    const label = h("span", { class: "call-name" });
    if (name === null) localize(label, "call.you");
    else label.textContent = name;
    const state = h("span", { class: "call-state", testid: "call-state" });
    const actions = h("span", { class: "call-tile-actions" });
    const element = h(
      "figure",
      { class: "call-tile", testid, dataset: sid ? { sid } : {} },
      video,
      h("figcaption", {}, label, state, actions),
    );
    return { element, video, label, state, actions, audio: null };
  }

  showLocal(stream) {
    if (stream) playMuted(this.local.video, stream);
    else this.local.element.classList.add("call-tile-off");
    this.controlsChanged(this.call);
  }

  showScreen(stream) {
    this.localScreen?.element.remove();
    this.localScreen = null;
    if (!stream) return;
    this.localScreen = this.tile({ testid: "call-local-screen", name: null });
    localize(this.localScreen.label, "call.yourScreen");
    playMuted(this.localScreen.video, stream);
    this.videos.append(this.localScreen.element);
  }

  addPeer(peer) {
    const tile = this.tile({ testid: "call-tile", name: peer.person.name, sid: peer.sid });
    localize(tile.state, "call.connecting");
    tile.actions.append(...this.hostActions(peer));
    this.videos.append(tile.element);
    return tile;
  }

  renamePeer(peer, person) {
    peer.person = person;
    peer.tile.label.textContent = person.name;
    for (const screen of peer.streams.values()) {
      if (screen !== peer.tile) localize(screen.label, "call.screenOf", { name: person.name });
    }
  }

  removePeer(peer) {
    for (const tile of new Set([peer.tile, ...peer.streams.values()])) {
      tile.video.srcObject = null;
      if (tile.audio) tile.audio.srcObject = null;
      tile.element.remove();
    }
  }

  peerState(peer, state) {
    if (state === "connected") {
      delete peer.tile.state.dataset.i18n;
      peer.tile.state.textContent = "";
    } else if (state === "disconnected" || state === "failed") {
      localize(peer.tile.state, "call.reconnecting");
    }
    peer.tile.element.dataset.state = state;
  }

  /** A remote track: the first stream is the person's camera, later ones are screens. */
  showTrack(peer, track, stream) {
    if (!stream) return;
    let tile = peer.streams.get(stream.id);
    if (!tile) {
      const first = peer.streams.size === 0;
      tile = first ? peer.tile : this.tile({ testid: "call-screen-tile", name: "", sid: peer.sid });
      if (!first) {
        localize(tile.label, "call.screenOf", { name: peer.person.name });
        this.videos.append(tile.element);
      }
      peer.streams.set(stream.id, tile);
      playMuted(tile.video, stream);
      stream.addEventListener("removetrack", () => {
        if (stream.getTracks().length === 0 && tile !== peer.tile) {
          tile.element.remove();
          peer.streams.delete(stream.id);
        }
      });
    }
    if (track.kind === "audio" && !tile.audio) {
      tile.audio = h("audio", { autoplay: true });
      tile.audio.srcObject = stream;
      tile.element.append(tile.audio);
      tile.audio.play().catch(() => {});
    }
  }

  controlsChanged(call) {
    if (!call) return;
    const hasMic = Boolean(call.camera?.getAudioTracks().length);
    const hasCamera = Boolean(call.camera?.getVideoTracks().length);
    this.mic.disabled = !hasMic;
    this.cam.disabled = !hasCamera;
    localize(this.mic, call.micOn || !hasMic ? "call.micOff" : "call.micOn");
    localize(this.cam, call.cameraOn || !hasCamera ? "call.cameraOff" : "call.cameraOn");
    localize(this.screen, call.screen ? "call.screenStop" : "call.screenShare");
    this.mic.setAttribute("aria-pressed", String(hasMic && !call.micOn));
    this.cam.setAttribute("aria-pressed", String(hasCamera && !call.cameraOn));
    this.screen.hidden = !navigator.mediaDevices?.getDisplayMedia;
    this.local?.element.classList.toggle("call-tile-off", !call.cameraOn);
  }
}

/**
 * The app's one call at a time: joins and leaves, routes the `call:*` pushes, and
 * runs the host's mute/remove buttons.
 */
export class CallController {
  constructor(app) {
    this.app = app;
    this.current = null; // MeshCall
    this.view = null; // its CallView
    this.listeners = new Set(); // (event, data) => void, for the booth and room pages
    const conn = app.conn;
    conn.on("call:joined", (data) => this.forCurrent(data, (call) => call.memberJoined(data)));
    conn.on("call:left", (data) => this.forCurrent(data, (call) => call.memberLeft(data)));
    conn.on("call:signalled", (data) => this.forCurrent(data, (call) => call.signalled(data)));
    conn.on("call:mute_requested", (data) => this.forCurrent(data, (call) => this.muteRequested(call, data)));
    conn.on("call:removed", (data) => this.ended(data, "error.removed_from_call"));
    conn.on("call:ended", (data) => this.ended(data, `call.ended.${data.reason}`));
    for (const event of ["call:knocks", "call:admitted", "call:declined", "call:created", "call:invited"]) {
      conn.on(event, (data) => this.emit(event, data));
    }
  }

  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event, data) {
    for (const listener of this.listeners) listener(event, data);
  }

  forCurrent(data, action) {
    if (this.current && this.current.id === data.call_id) action(this.current);
  }

  /** Join `callId`, showing it in `view` (leaving any other call first). Resolves
   * true when in; false when refused, with the reason shown in the view. */
  async join(callId, view) {
    this.leave();
    view.clearMessage();
    const call = new MeshCall(this.app.conn, view);
    this.current = call;
    this.view = view;
    try {
      await call.join(callId);
      return true;
    } catch (error) {
      if (this.current === call) this.current = this.view = null;
      call.close({ tellServer: false });
      view.message(errorKey(error.code));
      return false;
    }
  }

  leave() {
    this.current?.close();
    this.current = this.view = null;
  }

  /** After a reconnect the socket (and its sid) is new: join the call again. */
  async reconnected() {
    const call = this.current;
    if (!call) return;
    const view = this.view;
    call.close({ tellServer: false });
    this.current = this.view = null;
    await this.join(call.id, view);
  }

  isIn(callId) {
    return this.current?.id === callId;
  }

  ended(data, key) {
    this.emit(key === "error.removed_from_call" ? "call:removed" : "call:ended", data);
    if (!this.current || this.current.id !== data.call_id) return;
    const view = this.view;
    this.current.close({ tellServer: false });
    this.current = this.view = null;
    const args = data.reason ? { reason: data.reason } : null;
    view.message(key, { args });
  }

  muteRequested(call, { media, by }) {
    if (media === "video") call.setCamera(false);
    else call.setMic(false);
    notify(media === "video" ? "call.askedCameraOff" : "call.askedMute", { args: { name: by.name }, kind: "warning" });
  }

  /** Mute/remove buttons on a member's tile, for hosts of the current call. */
  hostActions(peer) {
    const call = this.current;
    if (!call?.host) return [];
    const personId = () => peer.person.id;
    return [
      h("button", {
        type: "button",
        class: "btn btn-small btn-quiet",
        testid: "call-mute-person",
        i18n: "call.askMute",
        onclick: () =>
          this.app.conn.request("call:mute", { call_id: call.id, person_id: personId() }).then(
            () => notify("call.muteAsked", { args: { name: peer.person.name } }),
            notifyError,
          ),
      }),
      h("button", {
        type: "button",
        class: "btn btn-small btn-danger",
        testid: "call-remove-person",
        i18n: "call.remove",
        onclick: () => this.removeMember(call, peer),
      }),
    ];
  }

  async removeMember(call, peer) {
    if (!confirm(t("call.removeConfirm", { name: peer.person.name }))) return;
    try {
      await this.app.conn.request("call:remove", { call_id: call.id, person_id: peer.person.id });
      this.emit("removals-changed", { call_id: call.id });
    } catch (error) {
      notifyError(error);
    }
  }

  /** A new view whose leave button leaves the call and whose tiles carry host buttons. */
  newView({ onLeave = () => {} } = {}) {
    return new CallView({
      onLeave: () => {
        this.leave();
        onLeave();
      },
      hostActions: (peer) => this.hostActions(peer),
    });
  }
}

/** For hosts: the people removed from a call, each with a button to let them back in. */
export class RemovedList {
  constructor(app) {
    this.app = app;
    this.callId = null;
    this.list = h("ul", { class: "people", testid: "call-removed" });
    this.element = h(
      "div",
      { class: "call-removed-box", hidden: true },
      h("h3", { class: "subtle-title", i18n: "call.removedTitle" }),
      this.list,
    );
    app.calls.on((event, data) => {
      if (event === "removals-changed" && data.call_id === this.callId) this.refresh();
    });
  }

  /** Show the removed people of `callId` (an empty list hides the box). */
  render(callId, people) {
    this.callId = callId;
    clear(this.list).append(
      ...people.map((person) =>
        h(
          "li",
          { class: "person", dataset: { personId: person.id } },
          h("span", { class: "person-name", text: person.name }),
          h(
            "div",
            { class: "person-actions" },
            h("button", {
              type: "button",
              class: "btn btn-small",
              testid: "call-readmit",
              i18n: "call.readmit",
              onclick: () => this.readmit(person),
            }),
          ),
        ),
      ),
    );
    this.element.hidden = people.length === 0;
  }

  async refresh() {
    if (!this.callId) return;
    const callId = this.callId;
    try {
      const view = await this.app.conn.request("call:get", { call_id: callId });
      if (callId === this.callId) this.render(callId, view.removed ?? []);
    } catch {
      // the call is gone: nothing to show
      if (callId === this.callId) this.render(callId, []);
    }
  }

  async readmit(person) {
    try {
      await this.app.conn.request("call:admit", { call_id: this.callId, person_id: person.id });
      notify("call.readmitted", { args: { name: person.name }, kind: "success" });
    } catch (error) {
      notifyError(error);
    }
    await this.refresh();
  }
}

// A call on the page: a tile per member, the local controls, a message line.

import { clear, h } from "../dom.js";
import { localize } from "../i18n.js";
import { playMuted } from "./media.js";

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

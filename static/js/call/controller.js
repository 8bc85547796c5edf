// Calls as the rest of the app sees them: the booth and room pages join, leave and
// hear about their call through here.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { errorKey, notify, notifyError } from "../notice.js";
import { MeshCall } from "./mesh.js";
import { CallView } from "./view.js";

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

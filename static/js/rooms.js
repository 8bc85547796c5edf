// Video rooms outside booths: the lobby's list of group rooms (round tables) and the
// meetings you are invited to, the moderators' form to open a room, and the page of
// one room (#/call/<id>).

import { RemovedList } from "./call/removed.js";
import { $, clear, h, setTitle } from "./dom.js";
import { localize } from "./i18n.js";
import { isModerator } from "./moderation.js";
import { errorKey, notify, notifyError } from "./notice.js";

const CAPACITIES = [2, 3, 4, 5, 6, 7, 8];
const DEFAULT_CAPACITY = 6;

export function callHref(callId) {
  return `#/call/${encodeURIComponent(callId)}`;
}

export class RoomsPanel {
  /** @param app {conn, me, calls} */
  constructor(app) {
    this.app = app;
    this.request = 0;
    this.wireForm();
    app.calls.on((event, data) => {
      if (event === "call:created" || event === "call:ended" || event === "call:removed") this.refresh();
      if (event === "call:invited") {
        this.refresh();
        const link = h("a", { href: callHref(data.call.id), testid: "meeting-join", i18n: "rooms.join" });
        notify("rooms.invited", { args: { name: data.by.name }, extra: [" ", link], sticky: true, id: data.call.id });
      }
    });
  }

  async refresh() {
    const ticket = ++this.request;
    try {
      const rooms = await this.app.conn.request("call:list", {});
      if (ticket === this.request) this.render(rooms);
    } catch (error) {
      notifyError(error);
    }
  }

  render(rooms) {
    const list = clear($("#rooms-list"));
    if (rooms.length === 0) list.append(h("li", { class: "empty", i18n: "rooms.empty" }));
    for (const { call, members } of rooms) {
      list.append(
        h(
          "li",
          { class: "room", testid: "room", dataset: { callId: call.id } },
          h(
            "div",
            { class: "room-main" },
            h("span", { class: "room-title", text: call.title || "—" }),
            h(
              "span",
              { class: "muted small" },
              h("span", { i18n: `rooms.kind.${call.kind}` }),
              " · ",
              h("span", { i18n: "rooms.seats", i18nArgs: { count: members, capacity: call.capacity } }),
            ),
          ),
          h("a", { href: callHref(call.id), class: "btn btn-small", testid: "room-join", i18n: "rooms.join" }),
        ),
      );
    }
  }

  wireForm() {
    const form = $("#room-form");
    form.hidden = !isModerator(this.app.me);
    const capacity = $("#room-capacity");
    clear(capacity).append(...CAPACITIES.map((n) => h("option", { value: n, text: String(n) })));
    capacity.value = String(DEFAULT_CAPACITY);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = $("#room-title").value.trim();
      if (!title) return;
      try {
        const call = await this.app.conn.request("call:create", {
          kind: "group",
          title,
          capacity: Number(capacity.value),
        });
        $("#room-title").value = "";
        location.hash = callHref(call.id);
      } catch (error) {
        notifyError(error);
      }
    });
  }
}

/** Start a 1:1 video meeting with someone and go to it. */
export async function meet(app, card) {
  try {
    const call = await app.conn.request("call:create", { kind: "meeting", title: "", invitees: [card.id] });
    location.hash = callHref(call.id);
  } catch (error) {
    notifyError(error);
  }
}

/** #/call/<id>: one meeting or group room. */
export class CallPage {
  constructor(app) {
    this.app = app;
    this.callId = null;
    this.view = app.calls.newView({ onLeave: () => this.refresh() });
    this.removed = new RemovedList(app);
    $("#call-rejoin").addEventListener("click", () => this.join());
    clear($("#call-slot")).append(this.view.element, this.removed.element);
    $("#call-heading").append(this.view.count);
  }

  async open(callId) {
    if (callId === this.callId && this.app.calls.isIn(callId)) return;
    this.callId = callId;
    const title = $("#call-title");
    delete title.dataset.i18n;
    title.textContent = "";
    this.view.clearMessage();
    try {
      const { call, removed } = await this.app.conn.request("call:get", { call_id: callId });
      this.removed.render(callId, removed ?? []); // hosts only
      if (call.title) title.textContent = call.title;
      else localize(title, `rooms.kind.${call.kind}`);
      setTitle(title.textContent, this.app.event.name);
    } catch (error) {
      this.view.message(errorKey(error.code));
      this.refresh();
      return;
    }
    await this.join();
  }

  async join() {
    $("#call-rejoin").hidden = true;
    await this.app.calls.join(this.callId, this.view);
    this.refresh();
  }

  refresh() {
    $("#call-rejoin").hidden = !this.callId || this.app.calls.isIn(this.callId);
  }

  close() {
    if (this.callId && this.app.calls.isIn(this.callId)) this.app.calls.leave();
    this.callId = null;
  }
}

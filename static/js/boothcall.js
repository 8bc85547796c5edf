// A booth's video call: visitors knock and wait; the booth's staff see the queue
// live, let people in or decline, and talk to them face to face.

import { RemovedList } from "./call/removed.js";
import { clear, h } from "./dom.js";
import { localize } from "./i18n.js";
import { errorKey, notify, notifyError } from "./notice.js";
import { initials, personSummary } from "./people.js";

export class BoothCall {
  /** @param app {conn, me, calls} */
  constructor(app) {
    this.app = app;
    this.callId = null;
    this.standing = null; // host | allowed | knock | removed
    this.knocking = null; // {position} while waiting
    this.view = app.calls.newView({
      onLeave: () => {
        if (this.standing === "allowed") this.standing = "knock"; // to come back, knock again
        this.refresh();
      },
    });
    this.hint = h("p", { class: "muted small", testid: "call-hint" });
    this.knockButton = h("button", {
      type: "button",
      class: "btn btn-primary",
      testid: "call-knock",
      i18n: "call.knock",
      onclick: () => this.knock(),
    });
    this.joinButton = h("button", {
      type: "button",
      class: "btn btn-primary",
      testid: "call-join",
      onclick: () => this.join(),
    });
    this.status = h("p", { class: "call-status", testid: "call-knock-status", role: "status" });
    this.withdrawButton = h("button", {
      type: "button",
      class: "btn btn-quiet",
      testid: "call-withdraw",
      i18n: "call.withdraw",
      onclick: () => this.withdraw(),
    });
    this.waiting = h("div", { class: "call-waiting", hidden: true }, this.status, this.withdrawButton);
    this.queueList = h("ul", { class: "people call-queue", testid: "call-knocks" });
    this.removed = new RemovedList(app);
    this.queue = h(
      "div",
      { class: "call-queue-box", hidden: true },
      h("h3", { class: "subtle-title", i18n: "call.queue" }),
      this.queueList,
      this.removed.element,
    );
    this.element = h(
      "section",
      { class: "panel booth-call", testid: "booth-call", "aria-labelledby": "booth-call-title" },
      h("h2", { class: "panel-title", id: "booth-call-title" }, (this.title = h("span")), this.view.count),
      this.hint,
      h("div", { class: "call-actions" }, this.knockButton, this.joinButton),
      this.waiting,
      this.view.element,
      this.queue,
    );
    app.calls.on((event, data) => {
      if (data.call_id === this.callId) this.pushed(event, data);
    });
  }

  get inCall() {
    return this.app.calls.isIn(this.callId);
  }

  /** Show the call of `boothId` (entering the booth). */
  async open(boothId) {
    const callId = `booth:${boothId}`;
    if (callId !== this.callId) {
      await this.close();
      this.callId = callId;
      this.view.clearMessage();
    }
    const view = await this.app.conn.request("call:get", { call_id: callId });
    this.standing = view.standing;
    if (!view.knocking) this.knocking = null;
    this.renderQueue(view.knocks ?? []);
    this.removed.render(callId, view.removed ?? []);
    this.refresh();
  }

  /** Leaving the booth: leave its call and take back a knock. */
  async close() {
    if (!this.callId) return;
    const callId = this.callId;
    this.callId = null;
    if (this.app.calls.isIn(callId)) this.app.calls.leave();
    if (this.knocking) {
      this.knocking = null;
      await this.app.conn.request("call:withdraw", { call_id: callId }).catch(() => {});
    }
  }

  refresh() {
    const host = this.standing === "host";
    const inCall = this.inCall;
    localize(this.title, host ? "call.boothTitleStaff" : "call.boothTitle");
    localize(this.hint, host ? "call.staffHint" : "call.visitorHint");
    this.knockButton.hidden = host || inCall || this.knocking !== null || this.standing !== "knock";
    this.joinButton.hidden = inCall || !(host || this.standing === "allowed");
    localize(this.joinButton, host ? "call.start" : "call.join");
    this.waiting.hidden = this.knocking === null;
    if (this.knocking) localize(this.status, "call.waiting", { position: this.knocking.position });
    this.queue.hidden = !host;
  }

  renderQueue(knocks) {
    const list = clear(this.queueList);
    if (knocks.length === 0) list.append(h("li", { class: "empty", i18n: "call.queueEmpty" }));
    for (const knock of knocks) {
      const person = knock.person;
      list.append(
        h(
          "li",
          { class: "person", testid: "call-knock-item", dataset: { personId: person.id } },
          h("span", { class: "avatar", "aria-hidden": "true" }, initials(person.name)),
          personSummary(person),
          h(
            "div",
            { class: "person-actions" },
            h("button", {
              type: "button",
              class: "btn btn-small btn-primary",
              testid: "call-admit",
              i18n: "call.admit",
              onclick: () => this.admit(person),
            }),
            h("button", {
              type: "button",
              class: "btn btn-small btn-quiet",
              testid: "call-decline",
              i18n: "call.decline",
              onclick: () => this.decide("call:decline", person),
            }),
          ),
        ),
      );
    }
  }

  pushed(event, data) {
    if (event === "call:knocks") this.renderQueue(data.knocks);
    else if (event === "call:admitted") {
      this.knocking = null;
      this.standing = "allowed";
      notify("call.admitted", { kind: "success" });
      this.join();
    } else if (event === "call:declined") {
      this.knocking = null;
      this.view.message("call.declined", { kind: "info" });
    } else if (event === "call:removed") {
      this.knocking = null;
      this.standing = "removed";
      this.view.message("error.removed_from_call");
    }
    this.refresh();
  }

  async knock() {
    this.view.clearMessage();
    try {
      const reply = await this.app.conn.request("call:knock", { call_id: this.callId });
      if (reply.state === "admitted") {
        this.standing = "allowed";
        await this.join();
      } else {
        this.knocking = { position: reply.position };
      }
    } catch (error) {
      if (error.code === "removed_from_call") this.standing = "removed";
      this.view.message(errorKey(error.code));
    }
    this.refresh();
  }

  async withdraw() {
    this.knocking = null;
    this.refresh();
    await this.app.conn.request("call:withdraw", { call_id: this.callId }).catch(notifyError);
  }

  async join() {
    const callId = this.callId;
    this.refresh();
    const joined = await this.app.calls.join(callId, this.view);
    if (!joined && this.callId === callId) {
      // e.g. after leaving, a visitor knocks again
      const view = await this.app.conn.request("call:get", { call_id: callId }).catch(() => null);
      if (view) this.standing = view.standing;
    }
    this.refresh();
  }

  /** Staff: let a visitor in, joining the call first if needed. */
  async admit(person) {
    if (!this.inCall && !(await this.app.calls.join(this.callId, this.view))) return this.refresh();
    this.refresh();
    await this.decide("call:admit", person);
  }

  async decide(event, person) {
    try {
      await this.app.conn.request(event, { call_id: this.callId, person_id: person.id });
    } catch (error) {
      notifyError(error);
    }
  }
}

// Letting people back into a call they were removed from (hosts only).

import { clear, h } from "../dom.js";
import { notify, notifyError } from "../notice.js";

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

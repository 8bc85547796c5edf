// Direct messages with one person (#/dm/<person_id>).

import { ChatPanel, dmChannel } from "./chat.js";
import { $, clear, h, setTitle } from "./dom.js";
import { dismiss } from "./notice.js";
import { personSummary } from "./people.js";

export class DirectMessages {
  /** @param app {conn, me, event, hub, lobby} */
  constructor(app) {
    this.app = app;
    this.chat = null;
  }

  async open(personId) {
    const channel = dmChannel(this.app.me.id, personId);
    if (this.chat?.channel === channel) return this.chat.catchUp();
    this.close();
    // Online people are known already; anyone else is looked up.
    const card =
      this.app.lobby.online.get(personId) ?? (await this.app.conn.request("people:get", { person_id: personId }));
    clear($("#dm-person")).append(
      h("h1", { tabindex: "-1", class: "panel-title", i18n: "dm.with", i18nArgs: { name: card.name } }),
      h("div", { class: "person" }, personSummary(card)),
    );
    this.chat = new ChatPanel({
      conn: this.app.conn,
      me: this.app.me,
      channel,
      titleKey: "dm.title",
      placeholderKey: "dm.placeholder",
    });
    clear($("#dm-chat")).append(this.chat.element);
    this.app.hub.attach(this.chat);
    dismiss(channel); // the "new message" toast about this conversation
    setTitle(card.name, this.app.event.name);
    await this.chat.load();
  }

  close() {
    this.app.hub.detach(this.chat);
    this.chat = null;
  }
}

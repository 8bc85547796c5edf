// Chat: one panel per channel (lobby, booth:<id>, dm:<a>:<b>) and a hub that
// routes pushed messages to the panel showing that channel.
//
// Each panel remembers the newest message id it has seen; after a reconnect it asks
// for exactly what came after it (`chat:history {since}`).

import { clear, h, setI18nAttrs } from "./dom.js";
import { localize, t } from "./i18n.js";
import { errorKey, notifyError } from "./notice.js";
import { canDeleteMessage } from "./moderation.js";
import { roleBadge } from "./people.js";

const PAGE = 50;
const CATCH_UP_PAGES = 10; // at most 1000 missed messages per channel, then we stop

/** History ids are "<ms>-<seq>"; compare them as numbers. */
export function compareIds(a, b) {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
}

/**
 * A message's client_id (8-64 of [A-Za-z0-9_-]): the server stores a message once per
 * client_id, so a retry whose first try did get through is not stored twice.
 * crypto.randomUUID exists only in secure contexts (https, localhost); plain http on
 * a LAN falls back to crypto.getRandomValues.
 */
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The server's name of the conversation between two people. */
export function dmChannel(meId, otherId) {
  return `dm:${[meId, otherId].sort().join(":")}`;
}

export class ChatPanel {
  /**
   * @param conn     Connection
   * @param me       the signed-in person
   * @param channel  wire channel name
   * @param titleKey dictionary key of the panel heading
   * @param titleArgs args of the heading (e.g. the other person's name)
   */
  constructor({ conn, me, channel, titleKey, titleArgs = null, placeholderKey = "chat.placeholder" }) {
    this.conn = conn;
    this.me = me;
    this.channel = channel;
    this.lastId = null; // newest message seen: the resume cursor
    this.firstId = null; // oldest shown: cursor for "earlier messages"
    this.ids = new Set();
    this.pending = null; // {text, clientId} of a message not known to be sent yet
    this.element = this.build(titleKey, titleArgs, placeholderKey);
  }

  build(titleKey, titleArgs, placeholderKey) {
    const inputId = `chat-input-${this.channel.replace(/[^\w-]/g, "_")}`;
    this.log = h("ol", {
      class: "chat-log",
      role: "log",
      "aria-live": "polite",
      testid: "chat-messages",
      i18nAttr: { "aria-label": "chat.messages" },
    });
    this.more = h("button", {
      type: "button",
      class: "btn btn-small btn-quiet chat-more",
      testid: "chat-load-more",
      i18n: "chat.loadEarlier",
      hidden: true,
      onclick: () => this.loadEarlier(),
    });
    this.input = h("input", {
      id: inputId,
      type: "text",
      autocomplete: "off",
      maxlength: 2000,
      required: true,
      testid: "chat-input",
      i18nAttr: { placeholder: placeholderKey },
    });
    this.send = h("button", { type: "submit", class: "btn btn-primary", testid: "chat-send", i18n: "chat.send" });
    this.error = h("p", { class: "form-error", role: "alert", testid: "chat-error", hidden: true });
    const form = h(
      "form",
      { class: "chat-form", testid: "chat-form", onsubmit: (event) => this.submit(event) },
      h("label", { class: "visually-hidden", for: inputId, i18n: "chat.inputLabel" }),
      this.input,
      this.send,
    );
    return h(
      "section",
      { class: "panel chat", testid: "chat", dataset: { channel: this.channel } },
      h("h2", { class: "panel-title", i18n: titleKey, i18nArgs: titleArgs }),
      this.more,
      this.log,
      form,
      this.error,
    );
  }

  /** First load: the latest page of history. */
  async load() {
    const page = await this.conn.request("chat:history", { channel: this.channel, limit: PAGE });
    this.add(page.messages);
    this.more.hidden = !page.has_more;
    if (this.ids.size === 0) this.renderEmpty();
  }

  async loadEarlier() {
    if (!this.firstId) return;
    const keepBottom = this.log.scrollHeight - this.log.scrollTop;
    try {
      const page = await this.conn.request("chat:history", {
        channel: this.channel,
        before: this.firstId,
        limit: PAGE,
      });
      this.add(page.messages, { scroll: false });
      this.more.hidden = !page.has_more;
      this.log.scrollTop = this.log.scrollHeight - keepBottom; // stay where the reader was
    } catch (error) {
      notifyError(error);
    }
  }

  /**
   * After a reconnect: fetch exactly what was missed since the last id we saw. After a
   * socket:resync, from the server's earlier cursor: a miss may lie before messages
   * that did arrive, and add() skips the ids already shown.
   */
  async catchUp(since = null) {
    if (!this.lastId) return this.load();
    let cursor = since && compareIds(since, this.lastId) < 0 ? since : this.lastId;
    for (let i = 0; i < CATCH_UP_PAGES; i++) {
      const page = await this.conn.request("chat:history", {
        channel: this.channel,
        since: cursor,
        limit: 100,
      });
      this.add(page.messages);
      if (!page.has_more || page.messages.length === 0) return;
      cursor = page.messages[page.messages.length - 1].id;
    }
  }

  /** Insert messages in id order, skipping ones already shown. */
  add(messages, { scroll = true } = {}) {
    const fresh = messages.filter((m) => m.id && !this.ids.has(m.id));
    if (fresh.length === 0) return;
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    this.log.querySelector(":scope > .empty")?.remove();
    for (const message of fresh.sort((a, b) => compareIds(a.id, b.id))) {
      this.ids.add(message.id);
      const node = this.renderMessage(message);
      const last = this.log.lastElementChild;
      const after =
        !last || compareIds(last.dataset.id, message.id) < 0
          ? null // the usual case: newer than everything shown
          : [...this.log.children].find((li) => compareIds(li.dataset.id, message.id) > 0);
      this.log.insertBefore(node, after ?? null);
      if (!this.lastId || compareIds(message.id, this.lastId) > 0) this.lastId = message.id;
      if (!this.firstId || compareIds(message.id, this.firstId) < 0) this.firstId = message.id;
    }
    if (scroll && nearBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  removeMessage(id) {
    this.log.querySelector(`:scope > li[data-id="${CSS.escape(id)}"]`)?.remove();
    this.ids.delete(id);
    if (this.ids.size === 0) this.renderEmpty();
  }

  renderEmpty() {
    clear(this.log).append(h("li", { class: "empty", i18n: "chat.empty" }));
  }

  renderMessage(message) {
    const mine = message.author.id === this.me.id;
    const author = message.author;
    return h(
      "li",
      { class: `msg${mine ? " msg-mine" : ""}`, testid: "chat-message", dataset: { id: message.id } },
      h(
        "div",
        { class: "msg-head" },
        h("span", { class: "msg-author", text: author.name }),
        author.role !== "participant" ? roleBadge(author.role) : null,
        h("span", { class: "msg-meta" }, author.company, " · ", h("span", { country: author.country })),
        h("time", { class: "msg-time", datetime: Math.round(message.ts * 1000), datetimeStyle: "time" }),
        canDeleteMessage(this.me, message)
          ? h("button", {
              type: "button",
              class: "msg-delete",
              testid: "message-delete",
              i18n: "chat.delete",
              onclick: () => this.deleteMessage(message),
            })
          : null,
      ),
      h("p", { class: "msg-text", text: message.text }),
    );
  }

  async deleteMessage(message) {
    if (!confirm(t("chat.deleteConfirm"))) return;
    try {
      await this.conn.request("chat:delete", { channel: this.channel, id: message.id });
      this.removeMessage(message.id); // the push may also arrive; removing twice is harmless
    } catch (error) {
      notifyError(error);
    }
  }

  async submit(event) {
    event.preventDefault();
    const text = this.input.value.trim();
    if (!text) return;
    this.send.disabled = true;
    this.error.hidden = true;
    // One client_id per message: conn.request sends the same payload on each retry of
    // `unavailable`, and sending the same text again after a failure (a timeout, the
    // retries used up) reuses it too, since the failed try may have been stored.
    if (this.pending?.text !== text) this.pending = { text, clientId: newClientId() };
    const payload = { channel: this.channel, text, client_id: this.pending.clientId };
    try {
      const message = await this.conn.request("chat:send", payload);
      this.pending = null;
      this.input.value = "";
      this.add([message]);
      this.log.scrollTop = this.log.scrollHeight; // always show what I just sent
    } catch (error) {
      if (error.code === "client_id_reused") this.pending = null; // sending again works
      localize(this.error, errorKey(error.code));
      this.error.hidden = false;
    } finally {
      this.send.disabled = false;
      this.input.focus();
    }
  }

  setPlaceholder(key) {
    setI18nAttrs(this.input, { placeholder: key });
  }
}

/** Routes `chat:message` / `chat:deleted` pushes to the open panels. */
export class ChatHub {
  constructor() {
    this.panels = new Map(); // channel -> ChatPanel
    this.unrouted = () => {};
  }

  attach(panel) {
    this.panels.set(panel.channel, panel);
  }

  detach(panel) {
    if (this.panels.get(panel?.channel) === panel) this.panels.delete(panel.channel);
  }

  /** Called with messages no open panel shows (e.g. a direct message elsewhere). */
  onUnrouted(handler) {
    this.unrouted = handler;
  }

  message(message) {
    const panel = this.panels.get(message.channel);
    if (panel) panel.add([message]);
    else this.unrouted(message);
  }

  deleted({ channel, id }) {
    this.panels.get(channel)?.removeMessage(id);
  }

  /** socket:resync: every open channel fetches what it may have missed since `since`. */
  async catchUp(since) {
    await Promise.all([...this.panels.values()].map((panel) => panel.catchUp(since)));
  }
}

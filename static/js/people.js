// A live list of people (lobby "online now", booth "here now").
//
// Keyed by person id, so presence pushes and snapshots can arrive in any order
// and overlap without duplicating anyone.

import { clear, h } from "./dom.js";
import { localize } from "./i18n.js";

export const RANK = { participant: 0, exhibitor: 0, moderator: 1, organizer: 2 };

export function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "") + (parts.length > 1 ? parts.at(-1)[0] : "")).toUpperCase() || "?";
}

export function roleBadge(role) {
  return h("span", { class: `badge role-${role}`, i18n: `role.${role}`, testid: "role" });
}

/** Name, company and country of one person, as used in lists and chat. */
export function personSummary(card, { you = false } = {}) {
  return h(
    "div",
    { class: "person-main" },
    h(
      "div",
      { class: "person-line" },
      h("span", { class: "person-name", text: card.name }),
      you ? h("span", { class: "person-you", i18n: "people.you" }) : null,
      card.role !== "participant" ? roleBadge(card.role) : null,
    ),
    h(
      "div",
      { class: "person-meta" },
      h("span", { text: card.company }),
      h("span", { class: "sep", "aria-hidden": "true" }, "·"),
      h("span", { country: card.country }),
    ),
  );
}

const byName = (a, b) =>
  a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.id.localeCompare(b.id);

export class PeopleList {
  /**
   * @param list   the <ul> to render into
   * @param count  element that shows how many (optional)
   * @param meId   the signed-in person (marked "you", no actions)
   * @param actions (card) => [nodes]: buttons for one person (DM, moderation)
   */
  constructor({ list, count = null, meId, actions = () => [], emptyKey = "people.empty" }) {
    this.list = list;
    this.count = count;
    this.meId = meId;
    this.actions = actions;
    this.emptyKey = emptyKey;
    this.people = new Map(); // id -> card
    this.rows = new Map(); // id -> <li>
  }

  /** A full snapshot (first load, re-entering after a reconnect). */
  replace(cards) {
    this.people = new Map(cards.map((card) => [card.id, card]));
    this.rows = new Map(cards.map((card) => [card.id, this.row(card)]));
    clear(this.list).append(...[...cards].sort(byName).map((card) => this.rows.get(card.id)));
    this.changed();
  }

  /** One arrival: insert in name order instead of redrawing a long list. */
  add(card) {
    this.rows.get(card.id)?.remove();
    this.people.set(card.id, card);
    const row = this.row(card);
    this.rows.set(card.id, row);
    let next = null; // the first person who sorts after the newcomer
    for (const other of this.people.values()) {
      if (other.id !== card.id && byName(card, other) < 0 && (!next || byName(other, next) < 0)) next = other;
    }
    this.list.insertBefore(row, next ? this.rows.get(next.id) : null);
    this.changed();
  }

  remove(personId) {
    if (!this.people.delete(personId)) return;
    this.rows.get(personId)?.remove();
    this.rows.delete(personId);
    this.changed();
  }

  get(personId) {
    return this.people.get(personId) ?? null;
  }

  changed() {
    if (this.count) localize(this.count, this.count.dataset.i18n, { count: this.people.size });
    const empty = this.list.querySelector(":scope > .empty");
    if (this.people.size === 0 && !empty) this.list.append(h("li", { class: "empty", i18n: this.emptyKey }));
    if (this.people.size > 0) empty?.remove();
  }

  row(card) {
    const you = card.id === this.meId;
    return h(
      "li",
      { class: "person", testid: "person", dataset: { personId: card.id } },
      h("span", { class: "avatar", "aria-hidden": "true" }, initials(card.name)),
      personSummary(card, { you }),
      you ? null : h("div", { class: "person-actions" }, this.actions(card)),
    );
  }
}

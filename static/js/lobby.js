// The lobby: who is online, programme, exhibitor directory, announcements, chat.

import { ChatPanel, compareIds } from "./chat.js";
import { fillCountrySelect } from "./countries.js";
import { $, clear, h } from "./dom.js";
import { localize, onLanguageChange } from "./i18n.js";
import { isModerator, moderationButtons } from "./moderation.js";
import { notifyError } from "./notice.js";
import { PeopleList } from "./people.js";
import { meet } from "./rooms.js";

const SEARCH_DELAY_MS = 250;

export class Lobby {
  /** @param app {conn, me, event, halls, hub} */
  constructor(app) {
    this.app = app;
    this.online = new PeopleList({
      list: $("#online-list"),
      count: $("#online-count"),
      meId: app.me.id,
      actions: (card) => personActions(app, card),
      emptyKey: "people.empty",
    });
    this.directoryRequest = 0; // only the newest answer is shown
    this.countries = new Set();
    this.chat = new ChatPanel({ conn: app.conn, me: app.me, channel: "lobby", titleKey: "lobby.chat" });
    clear($("#lobby-chat")).append(this.chat.element);
    app.hub.attach(this.chat);
    this.wireFilters();
    this.wireAnnounce();
    this.showMyBooth();
  }

  /** Everything from one `lobby:state` answer (first load and after reconnects). */
  async render(state) {
    this.online.replace(state.online);
    if (state.online_count > state.online.length) this.total(state.online_count);
    this.renderSchedule(state.schedule);
    this.renderAnnouncements(state.announcements);
    this.fillFilters();
    await Promise.all([this.refreshDirectory(), this.chat.catchUp()]);
  }

  // people ---------------------------------------------------------------------
  joined(person) {
    this.online.add(person);
  }

  left(personId) {
    this.online.remove(personId);
  }

  /** A lobby too big for live lists: show how many, keep the list as last fetched. */
  total(count) {
    localize($("#online-count"), "lobby.onlineCount", { count });
  }

  // programme ------------------------------------------------------------------
  renderSchedule(items) {
    const list = clear($("#schedule-list"));
    if (items.length === 0) list.append(h("li", { class: "empty", i18n: "lobby.scheduleEmpty" }));
    for (const item of items) {
      list.append(
        h(
          "li",
          { class: "schedule-item" },
          h(
            "div",
            { class: "schedule-when" },
            h("time", { datetime: item.starts_at, datetimeStyle: "day" }),
            h("time", { datetime: item.starts_at, datetimeStyle: "time" }),
          ),
          h(
            "div",
            { class: "schedule-what" },
            h("span", { class: "schedule-title", text: item.title, lang: item.language }),
            h(
              "span",
              { class: "muted small" },
              h("span", { i18n: `schedule.kind.${item.kind}` }),
              " · ",
              h("span", { i18n: `lang.name.${item.language}` }),
            ),
            item.booth_id ? h("a", { href: `#/booth/${item.booth_id}`, class: "small", i18n: "schedule.toBooth" }) : null,
          ),
        ),
      );
    }
  }

  // announcements ----------------------------------------------------------------
  renderAnnouncements(messages) {
    const list = clear($("#announcements"));
    list.append(h("li", { class: "empty", i18n: "lobby.announcementsEmpty" }));
    for (const message of messages) this.announcement(message);
  }

  /** Newest first; also used for `lobby:announcement` pushes. */
  announcement(message) {
    const list = $("#announcements");
    if (list.querySelector(`[data-id="${CSS.escape(message.id)}"]`)) return;
    list.querySelector(":scope > .empty")?.remove();
    const item = h(
      "li",
      { class: "announcement", testid: "announcement", dataset: { id: message.id } },
      h("p", { class: "announcement-text", text: message.text }),
      h(
        "p",
        { class: "muted small" },
        message.author.name,
        " · ",
        h("time", { datetime: Math.round(message.ts * 1000), datetimeStyle: "datetime" }),
      ),
    );
    const older = [...list.children].find((li) => li.dataset.id && compareIds(li.dataset.id, message.id) < 0);
    list.insertBefore(item, older ?? null);
  }

  wireAnnounce() {
    const form = $("#announce-form");
    form.hidden = !isModerator(this.app.me);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("#announce-input");
      const text = input.value.trim();
      if (!text) return;
      try {
        this.announcement(await this.app.conn.request("lobby:announce", { text }));
        input.value = "";
      } catch (error) {
        notifyError(error);
      }
    });
  }

  // directory ----------------------------------------------------------------------
  fillFilters() {
    const { event, halls } = this.app;
    const sector = $("#directory-sector");
    const chosen = sector.value;
    clear(sector).append(
      h("option", { value: "", i18n: "directory.allSectors" }),
      ...event.sectors.map((name) => h("option", { value: name, text: name })),
    );
    sector.value = chosen;

    const hall = $("#directory-hall");
    const chosenHall = hall.value;
    clear(hall).append(
      h("option", { value: "", i18n: "directory.allHalls" }),
      ...halls.map((item) => h("option", { value: item.id, text: item.name })),
    );
    hall.value = chosenHall;
    hall.closest(".field").hidden = halls.length < 2;
  }

  fillCountries(booths) {
    // Offer only countries that have booths; learnt from the unfiltered list.
    const before = this.countries.size;
    for (const booth of booths) this.countries.add(booth.country);
    if (this.countries.size !== before || !$("#directory-country").options.length) {
      fillCountrySelect($("#directory-country"), [...this.countries], { emptyKey: "directory.allCountries" });
    }
  }

  wireFilters() {
    let timer = null;
    const refresh = () => this.refreshDirectory().catch(notifyError);
    $("#directory-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      refresh();
    });
    $("#directory-q").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, SEARCH_DELAY_MS);
    });
    for (const id of ["#directory-sector", "#directory-country", "#directory-hall"]) {
      $(id).addEventListener("change", refresh);
    }
    onLanguageChange(() => {
      if (this.countries.size) {
        fillCountrySelect($("#directory-country"), [...this.countries], { emptyKey: "directory.allCountries" });
      }
    });
  }

  filters() {
    return {
      q: $("#directory-q").value.trim(),
      sector: $("#directory-sector").value,
      country: $("#directory-country").value,
      hall_id: $("#directory-hall").value,
    };
  }

  async refreshDirectory() {
    const query = this.filters();
    const ticket = ++this.directoryRequest;
    const booths = await this.app.conn.request("lobby:directory", query);
    if (ticket !== this.directoryRequest) return; // a newer query is on its way
    if (!query.q && !query.sector && !query.country && !query.hall_id) this.fillCountries(booths);
    this.renderDirectory(booths);
  }

  renderDirectory(booths) {
    const list = clear($("#directory"));
    localize($("#directory-count"), "directory.count", { count: booths.length });
    if (booths.length === 0) list.append(h("li", { class: "empty", i18n: "directory.empty" }));
    const hallNames = new Map(this.app.halls.map((hall) => [hall.id, hall.name]));
    for (const booth of booths) {
      list.append(
        h(
          "li",
          { class: "booth-card", dataset: { boothId: booth.id } },
          h(
            "a",
            { href: `#/booth/${booth.id}`, class: "booth-link", testid: `booth-${booth.id}` },
            h("span", { class: "booth-company", text: booth.company }),
          ),
          h(
            "p",
            { class: "tags" },
            h("span", { class: "tag", text: booth.sector }),
            h("span", { class: "tag", country: booth.country }),
          ),
          h("p", { class: "booth-blurb", text: booth.description }),
          hallNames.has(booth.hall_id) ? h("p", { class: "muted small", text: hallNames.get(booth.hall_id) }) : null,
        ),
      );
    }
  }

  boothUpdated() {
    this.refreshDirectory().catch(notifyError);
  }

  showMyBooth() {
    const link = $("#my-booth");
    const boothId = this.app.me.role === "exhibitor" ? this.app.me.booth_ids[0] : null;
    link.hidden = !boothId;
    if (boothId) {
      link.href = `#/booth/${boothId}`;
      localize(link, "lobby.myBooth");
    }
  }
}

/** Buttons next to a person: write to them, and moderation for moderators. */
export function personActions(app, card) {
  return [
    h("a", {
      href: `#/dm/${card.id}`,
      class: "btn btn-small btn-quiet",
      testid: "message-person",
      i18n: "people.message",
    }),
    h("button", {
      type: "button",
      class: "btn btn-small btn-quiet",
      testid: "meet-person",
      i18n: "people.meet",
      onclick: () => meet(app, card),
    }),
    ...moderationButtons(app.conn, app.me, card),
  ];
}

// A booth: its profile, who is here now, its chat, and the staff's edit form.

import { BoothCall } from "./boothcall.js";
import { ChatPanel } from "./chat.js";
import { fillCountrySelect } from "./countries.js";
import { $, clear, h, setCountry, setTitle } from "./dom.js";
import { localize, onLanguageChange } from "./i18n.js";
import { personActions } from "./lobby.js";
import { canEditBooth } from "./moderation.js";
import { errorKey, notify } from "./notice.js";
import { PeopleList } from "./people.js";

const MAX_LINKS = 10;
const SAFE_URL = /^https?:\/\//i;

export class BoothPage {
  /** @param app {conn, me, event, halls, hub} */
  constructor(app) {
    this.app = app;
    this.booth = null;
    this.chat = null;
    this.present = new PeopleList({
      list: $("#booth-present"),
      count: $("#present-count"),
      meId: app.me.id,
      actions: (card) => personActions(app, card),
      emptyKey: "booth.nobody",
    });
    this.call = new BoothCall(app);
    clear($("#booth-call")).append(this.call.element);
    this.wireEditForm();
  }

  get boothId() {
    return this.booth?.id ?? null;
  }

  /** Enter the booth (leaving any other one) and show it. */
  async open(boothId) {
    if (this.chat?.channel !== `booth:${boothId}`) {
      this.app.hub.detach(this.chat);
      this.chat = new ChatPanel({
        conn: this.app.conn,
        me: this.app.me,
        channel: `booth:${boothId}`,
        titleKey: "booth.chat",
      });
      clear($("#booth-chat")).append(this.chat.element);
      this.app.hub.attach(this.chat); // before entering: no push may slip past
      this.clearProfile();
    }
    const view = await this.app.conn.request("booth:enter", { booth_id: boothId });
    this.render(view.booth);
    this.present.replace(view.present);
    await Promise.all([this.chat.catchUp(), this.call.open(boothId)]);
  }

  /** Leave the booth (the person navigated elsewhere). */
  async close() {
    if (!this.booth) return;
    this.booth = null;
    await this.call.close();
    this.app.hub.detach(this.chat);
    this.chat = null;
    await this.app.conn.request("booth:leave", {}).catch(() => {}); // gone anyway on disconnect
  }

  /** After a reconnect the new socket is in no booth: enter again. */
  async rejoin() {
    if (this.boothId) await this.open(this.boothId);
  }

  joined(scope, person) {
    if (scope === `booth:${this.boothId}`) this.present.add(person);
  }

  left(scope, personId) {
    if (scope === `booth:${this.boothId}`) this.present.remove(personId);
  }

  updated(booth) {
    if (booth.id === this.boothId) this.render(booth);
  }

  // profile ------------------------------------------------------------------------
  /** Another booth is loading: show nothing of the previous one meanwhile. */
  clearProfile() {
    for (const id of ["#booth-hall", "#booth-company", "#booth-sector", "#booth-description"]) {
      delete $(id).dataset.i18n;
      $(id).textContent = "";
    }
    delete $("#booth-country").dataset.country;
    $("#booth-country").textContent = "";
    clear($("#booth-links"));
    $("#booth-edit").hidden = true;
    $("#booth-edit-form").hidden = true;
    this.present.replace([]);
  }

  render(booth) {
    this.booth = booth;
    const hall = this.app.halls.find((item) => item.id === booth.hall_id);
    $("#booth-hall").textContent = hall?.name ?? "";
    $("#booth-company").textContent = booth.company;
    $("#booth-sector").textContent = booth.sector;
    setCountry($("#booth-country"), booth.country);
    const description = $("#booth-description");
    if (booth.description) {
      delete description.dataset.i18n;
      description.textContent = booth.description;
      description.classList.remove("muted");
    } else {
      localize(description, "booth.noDescription");
      description.classList.add("muted");
    }
    const links = clear($("#booth-links"));
    for (const link of booth.links.filter((item) => SAFE_URL.test(item.url))) {
      links.append(
        h("li", {}, h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer", text: link.label })),
      );
    }
    $("#booth-links-title").hidden = links.children.length === 0;
    $("#booth-edit").hidden = !canEditBooth(this.app.me, booth.id);
    setTitle(booth.company, this.app.event.name);
  }

  // edit form (staff and organizers) --------------------------------------------------
  wireEditForm() {
    const form = $("#booth-edit-form");
    $("#booth-edit").addEventListener("click", () => this.startEditing());
    $("#booth-edit-cancel").addEventListener("click", () => {
      form.hidden = true;
      $("#booth-edit").focus();
    });
    $("#edit-add-link").addEventListener("click", () => this.addLinkRow());
    form.addEventListener("submit", (event) => this.save(event));
    onLanguageChange(() => {
      if (!form.hidden) fillCountrySelect($("#edit-country"));
    });
  }

  startEditing() {
    const booth = this.booth;
    $("#edit-company").value = booth.company;
    $("#edit-sector").value = booth.sector;
    clear($("#edit-sectors")).append(...this.app.event.sectors.map((name) => h("option", { value: name })));
    fillCountrySelect($("#edit-country"));
    $("#edit-country").value = booth.country;
    $("#edit-description").value = booth.description;
    clear($("#edit-links"));
    for (const link of booth.links) this.addLinkRow(link);
    if (booth.links.length === 0) this.addLinkRow();
    $("#edit-error").hidden = true;
    $("#booth-edit-form").hidden = false;
    $("#edit-company").focus();
  }

  addLinkRow(link = { label: "", url: "" }) {
    const rows = $("#edit-links");
    if (rows.children.length >= MAX_LINKS) return;
    const n = rows.children.length + 1;
    const row = h(
      "div",
      { class: "link-row", testid: "edit-link" },
      h("label", { class: "visually-hidden", for: `edit-link-label-${n}`, i18n: "booth.linkLabel" }),
      h("input", {
        id: `edit-link-label-${n}`,
        class: "link-label",
        maxlength: 80,
        value: link.label,
        i18nAttr: { placeholder: "booth.linkLabel" },
      }),
      h("label", { class: "visually-hidden", for: `edit-link-url-${n}`, i18n: "booth.linkUrl" }),
      h("input", {
        id: `edit-link-url-${n}`,
        class: "link-url",
        type: "url",
        maxlength: 500,
        value: link.url,
        placeholder: "https://",
      }),
      h("button", {
        type: "button",
        class: "btn btn-small btn-quiet",
        i18n: "action.remove",
        onclick: () => row.remove(),
      }),
    );
    rows.append(row);
  }

  readLinks() {
    return [...$("#edit-links").children]
      .map((row) => ({
        label: row.querySelector(".link-label").value.trim(),
        url: row.querySelector(".link-url").value.trim(),
      }))
      .filter((link) => link.label || link.url);
  }

  async save(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const error = $("#edit-error");
    const links = this.readLinks();
    if (!form.checkValidity() || links.some((link) => !link.label || !SAFE_URL.test(link.url))) {
      localize(error, "booth.invalid");
      error.hidden = false;
      return;
    }
    try {
      const booth = await this.app.conn.request("booth:update", {
        booth_id: this.boothId,
        company: $("#edit-company").value.trim(),
        sector: $("#edit-sector").value.trim(),
        country: $("#edit-country").value,
        description: $("#edit-description").value.trim(),
        links,
      });
      this.render(booth);
      form.hidden = true;
      notify("booth.saved", { kind: "success" });
    } catch (failure) {
      localize(error, failure.code === "invalid_payload" ? "booth.invalid" : errorKey(failure.code));
      error.hidden = false;
    }
  }
}

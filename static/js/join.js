// The invite page (/join/<code>): read the invite, register, keep the token.

import { ApiError, getInvite, join } from "./api.js";
import { fillCountrySelect, guessCountry } from "./countries.js";
import { $, clear, h, showView } from "./dom.js";
import { LANGUAGES, isSupported, language, localize, onLanguageChange, setLanguage } from "./i18n.js";
import { errorKey } from "./notice.js";
import { roleBadge } from "./people.js";
import { loadSession, saveLanguage, saveSession } from "./session.js";

/**
 * Show the join form for `code`; resolves once the person is signed in, with the
 * saved session. Rejects with ApiError when the invite cannot be used.
 */
export async function showJoin(code) {
  const invite = await getInvite(code);
  renderInvite(invite);
  showView("view-join");
  return new Promise((resolve) => {
    offerResume(invite, resolve);
    $("#join-form").addEventListener("submit", (event) => submit(event, code, resolve));
  });
}

function renderInvite(invite) {
  $("#join-event").textContent = invite.event.name;
  clear($("#join-role")).append(roleBadge(invite.role));
  const booths = $("#join-booths");
  booths.textContent = invite.booths.length ? `— ${invite.booths.map((b) => b.company).join(", ")}` : "";

  const sectors = $("#join-sectors");
  clear(sectors).append(...invite.sectors.map((sector) => h("option", { value: sector })));

  const country = $("#join-country");
  fillCountrySelect(country, undefined, { emptyKey: "join.countryChoose" });
  country.value = guessCountry();
  onLanguageChange(() => fillCountrySelect(country, undefined, { emptyKey: "join.countryChoose" }));

  // The form's language is the page's language: choosing one switches the page.
  const offered = invite.event.languages.filter(isSupported);
  const languages = offered.length ? offered : LANGUAGES;
  const select = $("#join-language");
  clear(select).append(
    ...languages.map((lang) => h("option", { value: lang, lang, i18n: `lang.name.${lang}` })),
  );
  select.value = languages.includes(language()) ? language() : languages[0];
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange((lang) => {
    if (languages.includes(lang)) select.value = lang;
  });
}

/** Someone who already joined this event in this browser may go straight back in. */
function offerResume(invite, resolve) {
  const session = loadSession(invite.event.id);
  if (!session) return;
  localize($("#join-resume-text"), "join.resumeText", { name: session.name });
  $("#join-resume").hidden = false;
  $("#join-resume-button").addEventListener("click", () => resolve(session), { once: true });
}

function readForm(code) {
  return {
    code,
    name: $("#join-name").value.trim(),
    company: $("#join-company").value.trim(),
    country: $("#join-country").value,
    sector: $("#join-sector").value.trim(),
    language: $("#join-language").value,
  };
}

function showError(key) {
  const box = $("#join-error");
  localize(box, key);
  box.hidden = false;
}

async function submit(event, code, resolve) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  if (!form.checkValidity()) {
    showError("join.incomplete");
    form.querySelector(":invalid")?.focus();
    return;
  }
  $("#join-error").hidden = true;
  button.disabled = true;
  const data = readForm(code);
  try {
    const { token, person } = await join(data);
    const session = {
      eventId: person.event_id,
      token,
      personId: person.id,
      name: person.name,
      language: person.language,
      code,
    };
    saveSession(session);
    saveLanguage(data.language);
    resolve(session);
  } catch (error) {
    showError(error instanceof ApiError ? errorKey(error.code) : "error.generic");
  } finally {
    button.disabled = false;
  }
}

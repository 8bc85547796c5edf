// Entry point: pick the language, then either the invite page or the signed-in app.

import { ApiError } from "./api.js";
import { showMessage, startApp } from "./app.js";
import { browserLanguage, language, onLanguageChange, setLanguage } from "./i18n.js";
import { showJoin } from "./join.js";
import { errorKey } from "./notice.js";
import { inviteCode, loadSession, saveLanguage, savedLanguage } from "./session.js";

function wireLanguageSwitch() {
  const buttons = document.querySelectorAll(".lang-switch [data-lang]");
  const mark = (lang) => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
  };
  for (const button of buttons) {
    button.addEventListener("click", async () => {
      saveLanguage(button.dataset.lang); // an explicit choice wins from now on
      await setLanguage(button.dataset.lang);
    });
  }
  onLanguageChange(mark);
  mark(language());
}

async function boot() {
  const invite = location.pathname.match(/^\/join\/([^/]+)\/?$/);
  const session = invite ? null : loadSession();
  await setLanguage(savedLanguage() ?? session?.language ?? browserLanguage());
  wireLanguageSwitch();

  if (invite) {
    let joined;
    try {
      joined = await showJoin(decodeURIComponent(invite[1]));
    } catch (error) {
      const key = error instanceof ApiError ? errorKey(error.code) : "error.generic";
      showMessage("join.invalidTitle", key);
      return;
    }
    history.replaceState(null, "", "/"); // the invite link is spent; "/" is home now
    startApp(joined);
  } else if (session) {
    startApp(session);
  } else if (inviteCode()) {
    // signed out here before (removed, expired): the invite link is the way back
    showMessage("auth.signedOutTitle", "error.auth_required", { code: inviteCode() });
  } else {
    showMessage("welcome.title", "welcome.text");
  }
}

boot().catch((error) => {
  console.error(error);
  showMessage("error.title", "error.generic");
});

// Short messages for the person (toasts), and turning error codes into their text.

import { h } from "./dom.js";
import { has } from "./i18n.js";

const LIFETIME_MS = 6000;

/** The dictionary key that explains an error code to people. */
export function errorKey(code) {
  return has(`error.${code}`) ? `error.${code}` : "error.generic";
}

/**
 * Show a toast. `extra` are nodes appended after the text (e.g. a link or a
 * reason given by a moderator); sticky toasts stay until closed.
 */
export function notify(key, { args = null, kind = "info", extra = [], sticky = false, id = null } = {}) {
  const region = document.getElementById("toasts");
  if (id) region.querySelector(`[data-toast-id="${CSS.escape(id)}"]`)?.remove();
  const close = h("button", {
    type: "button",
    class: "toast-close",
    i18nAttr: { "aria-label": "action.close", title: "action.close" },
    onclick: () => toast.remove(),
  }, "×");
  const toast = h(
    "div",
    { class: `toast toast-${kind}`, testid: "toast", dataset: id ? { toastId: id } : {} },
    h("p", {}, h("span", { i18n: key, i18nArgs: args }), extra),
    close,
  );
  region.append(toast);
  if (!sticky) setTimeout(() => toast.remove(), LIFETIME_MS);
  return toast;
}

export function dismiss(id) {
  document.querySelector(`#toasts [data-toast-id="${CSS.escape(id)}"]`)?.remove();
}

export function notifyError(error) {
  return notify(errorKey(error?.code), { kind: "error" });
}

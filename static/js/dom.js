// Building DOM without innerHTML: user text only ever becomes text nodes.

import { countryName, formatDate, localize, t } from "./i18n.js";

/**
 * h("button", {type: "button", i18n: "chat.send", testid: "chat-send", onclick}, child…)
 *
 * Special props: text (plain text), i18n + i18nArgs (translated text), i18nAttr
 * ({placeholder: key}), country (ISO code shown as a name), datetime + datetimeStyle,
 * testid, dataset, on<event> handlers. Everything else becomes an attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") el.textContent = value;
    else if (name === "i18n") localize(el, value, props.i18nArgs ?? null);
    else if (name === "i18nArgs") continue; // used with i18n
    else if (name === "i18nAttr") setI18nAttrs(el, value);
    else if (name === "country") setCountry(el, value);
    else if (name === "datetime") setDatetime(el, value, props.datetimeStyle);
    else if (name === "datetimeStyle") continue; // used with datetime
    else if (name === "testid") el.dataset.testid = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "value") el.value = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function setI18nAttrs(el, attrs) {
  el.dataset.i18nAttr = Object.entries(attrs)
    .map(([attr, key]) => `${attr}=${key}`)
    .join(",");
  for (const [attr, key] of Object.entries(attrs)) el.setAttribute(attr, t(key));
}

export function setCountry(el, code) {
  el.dataset.country = code;
  el.textContent = countryName(code);
}

export function setDatetime(el, value, style = "time") {
  const stamp = value instanceof Date ? value.toISOString() : String(value);
  el.dataset.datetime = stamp;
  el.dataset.datetimeStyle = style;
  el.textContent = formatDate(stamp, style);
  if (el.tagName === "TIME") el.dateTime = new Date(/^\d+$/.test(stamp) ? Number(stamp) : stamp).toISOString();
}

/** The tab title: the most specific part first, the app's name last. */
export function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), t("app.name")].join(" — ");
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Show one `<section class="view">`, hide the others. */
export function showView(id) {
  for (const view of document.querySelectorAll("main > .view")) view.hidden = view.id !== id;
  const shown = document.getElementById(id);
  shown?.querySelector("h1, h2")?.focus?.({ preventScroll: true });
}

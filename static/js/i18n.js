// Translations: every string shown to people comes from /static/i18n/<lang>.json,
// and error texts from the server's catalog (/api/errors/<lang>).
//
// Elements say what they show through attributes, so switching the language only
// walks the DOM again and nothing has to be re-rendered by hand:
//   data-i18n="key"                text from the dictionary
//   data-i18n-args='{"name":"…"}'  values for {placeholders} (inserted as text)
//   data-i18n-attr="placeholder=key,aria-label=key"
//   data-country="FR"              country name in the current language (Intl)
//   data-datetime="<ISO or ms>"    date/time in the current language
//   data-datetime-style="time|day|datetime"

export const LANGUAGES = ["en", "fr", "de"];
const FALLBACK = "en";

const dictionaries = new Map(); // lang -> {key: text}
const listeners = new Set();
let current = FALLBACK;

export function language() {
  return current;
}

export function isSupported(lang) {
  return LANGUAGES.includes(lang);
}

async function fetchJson(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`cannot load ${url}`);
  return response.json();
}

// The page's own strings, plus what each error code says, which comes from the
// server's error catalog (rooms/errors.py) as "error.<code>".
async function load(lang) {
  if (!dictionaries.has(lang)) {
    const [strings, errorTexts] = await Promise.all([
      fetchJson(`/static/i18n/${lang}.json`),
      fetchJson(`/api/errors/${lang}`),
    ]);
    for (const [code, text] of Object.entries(errorTexts)) strings[`error.${code}`] = text;
    dictionaries.set(lang, strings);
  }
  return dictionaries.get(lang);
}

function lookup(key) {
  return dictionaries.get(current)?.[key] ?? dictionaries.get(FALLBACK)?.[key];
}

/**
 * Translate `key` and fill `{name}` placeholders from `args`. With a numeric
 * `args.count`, a plural variant such as "key.one" wins when the language has it.
 */
export function t(key, args = null) {
  let text;
  if (typeof args?.count === "number") {
    text = lookup(`${key}.${new Intl.PluralRules(current).select(args.count)}`);
  }
  text ??= lookup(key) ?? key;
  if (!args) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

export function has(key) {
  return key in (dictionaries.get(current) ?? {}) || key in (dictionaries.get(FALLBACK) ?? {});
}

/** Mark `el` as showing `key` (with `args`) and fill it in now. */
export function localize(el, key, args = null) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  el.textContent = t(key, args);
  return el;
}

// Dates and country names follow the page language, in the browser's regional
// variant when it has one (en-US vs en-GB clocks), else a European default.
const DEFAULT_LOCALES = { en: "en-GB", fr: "fr-FR", de: "de-DE" };
function locale() {
  const own = (navigator.languages ?? []).find((tag) => tag.toLowerCase().startsWith(`${current}-`));
  return own ?? DEFAULT_LOCALES[current] ?? current;
}

const regionNames = new Map();
export function countryName(code) {
  if (!regionNames.has(current)) {
    regionNames.set(current, new Intl.DisplayNames([locale()], { type: "region", fallback: "code" }));
  }
  try {
    return regionNames.get(current).of(code);
  } catch {
    return code; // not a valid region code: show it as given
  }
}

const DATE_STYLES = {
  time: { hour: "2-digit", minute: "2-digit" },
  day: { weekday: "short", day: "numeric", month: "short" },
  datetime: { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
};

export function formatDate(value, style = "time") {
  const date = new Date(typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value);
  return new Intl.DateTimeFormat(locale(), DATE_STYLES[style] ?? DATE_STYLES.time).format(date);
}

/** Fill every marked element under `root` in the current language. */
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : null;
    el.textContent = t(el.dataset.i18n, args);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split("=");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  for (const el of root.querySelectorAll("[data-country]")) {
    el.textContent = countryName(el.dataset.country);
  }
  for (const el of root.querySelectorAll("[data-datetime]")) {
    el.textContent = formatDate(el.dataset.datetime, el.dataset.datetimeStyle);
  }
}

/** Switch the whole page to `lang` (no reload). */
export async function setLanguage(lang) {
  if (!isSupported(lang)) lang = FALLBACK;
  await Promise.all([load(FALLBACK), load(lang)]);
  current = lang;
  document.documentElement.lang = lang;
  translate(document);
  for (const listener of listeners) listener(lang);
}

/** Called after every switch (for things that must be re-sorted, not just re-labelled). */
export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The browser's preferred language if we support it. */
export function browserLanguage() {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const lang = String(tag).slice(0, 2).toLowerCase();
    if (isSupported(lang)) return lang;
  }
  return FALLBACK;
}

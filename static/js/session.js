// What survives a reload: the session token (one per event) and the chosen language.
//
// "/" carries no event id, so we also remember which event was opened last.

const CURRENT = "fairhall:current-event";
const LANG = "fairhall:lang";
const sessionKey = (eventId) => `fairhall:session:${eventId}`;

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null; // corrupt or blocked storage: behave as signed out
  }
}

/** {eventId, token, personId, name, language, code} or null. */
export function loadSession(eventId = localStorage.getItem(CURRENT)) {
  if (!eventId) return null;
  const session = read(sessionKey(eventId));
  return session?.token ? session : null;
}

export function saveSession(session) {
  localStorage.setItem(sessionKey(session.eventId), JSON.stringify(session));
  localStorage.setItem(CURRENT, session.eventId);
}

/** Forget the token but keep the invite code, so "join again" still knows where to go. */
export function dropToken(eventId) {
  const session = read(sessionKey(eventId));
  if (session) localStorage.setItem(sessionKey(eventId), JSON.stringify({ ...session, token: null }));
}

export function inviteCode(eventId = localStorage.getItem(CURRENT)) {
  return eventId ? (read(sessionKey(eventId))?.code ?? null) : null;
}

export function savedLanguage() {
  return localStorage.getItem(LANG);
}

export function saveLanguage(lang) {
  localStorage.setItem(LANG, lang);
}

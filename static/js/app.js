// The signed-in app: one connection, the views, pushes, routing and reconnects.

import { BoothPage } from "./booth.js";
import { CallController } from "./call/controller.js";
import { ChatHub } from "./chat.js";
import { AUTH_CODES, Connection } from "./connection.js";
import { $, clear, h, setTitle, showView } from "./dom.js";
import { localize, setLanguage } from "./i18n.js";
import { DirectMessages } from "./dm.js";
import { Lobby } from "./lobby.js";
import { errorKey, notify, notifyError } from "./notice.js";
import { roleBadge } from "./people.js";
import { CallPage, RoomsPanel } from "./rooms.js";
import { dropToken, inviteCode, savedLanguage } from "./session.js";
import { VisitPage, VisitsPanel } from "./visits.js";

/**
 * Show a full-page message (signed out, removed, bad invite, connection closed) with an
 * optional way back: the invite link (`code`) or reloading this page (`reload`).
 */
export function showMessage(titleKey, textKey, { extra = "", code = null, reload = false } = {}) {
  localize($("#message-title"), titleKey);
  localize($("#message-text"), textKey);
  $("#message-extra").textContent = extra;
  const action = $("#message-action");
  action.hidden = !code && !reload;
  if (code) {
    action.href = `/join/${encodeURIComponent(code)}`;
    localize(action, "auth.rejoin");
  } else if (reload) {
    action.href = location.href;
    localize(action, "auth.useHere");
  }
  setTitle();
  showView("view-message");
}

function setStatus(key) {
  const status = $("#status");
  status.hidden = false;
  status.dataset.state = key;
  localize(status.querySelector(".status-text"), `status.${key}`);
}

function renderHeader(me, event) {
  $("#event-name").textContent = event.name;
  const box = clear($("#me"));
  box.append(
    h("span", { class: "me-name", text: me.name }),
    h("span", { class: "me-company", text: me.company }),
    roleBadge(me.role),
  );
  box.hidden = false;
}

/** Start the app for a saved session: connect, then show the lobby (or the route). */
export function startApp(session) {
  const conn = new Connection(session.token);
  const hub = new ChatHub();
  let app = null; // filled by the first lobby:state
  let stopped = false;

  const stop = (titleKey, textKey, extra = "") => {
    stopped = true;
    app?.calls.current?.close({ tellServer: false }); // no camera left running
    conn.close();
    $("#status").hidden = true;
    $("#me").hidden = true;
    dropToken(session.eventId);
    showMessage(titleKey, textKey, { extra, code: inviteCode(session.eventId) });
  };

  conn.on("connect", async () => {
    setStatus("online");
    try {
      const state = await conn.request("lobby:state", {});
      if (app) return await resume(app, state);
      // Views are built once, synchronously, so a later reconnect only refreshes them.
      app = createApp(conn, hub, state);
      await firstLoad(app, state);
    } catch (error) {
      notifyError(error);
    }
  });
  // the server closed this connection on purpose (another tab took over, or it sent
  // what the server could not read): say why instead of "reconnecting" for ever
  conn.on("socket:closing", ({ code }) => {
    stopped = true;
    app?.calls.current?.close({ tellServer: false });
    conn.close();
    $("#status").hidden = true;
    showMessage("auth.closedTitle", errorKey(code), { reload: true });
  });
  conn.on("socket:resync", async ({ since }) => {
    if (!app) return;
    try {
      await resume(app, await conn.request("lobby:state", {}), { newSocket: false });
      await hub.catchUp(since); // a miss may lie before messages that did arrive
    } catch (error) {
      notifyError(error);
    }
  });
  conn.on("disconnect", () => {
    if (!stopped) setStatus("reconnecting");
  });
  conn.on("connect_error", (error) => {
    const code = error?.data?.code;
    if (AUTH_CODES.has(code)) {
      const title = code === "removed" ? "auth.removedTitle" : "auth.signedOutTitle";
      stop(title, errorKey(code));
    } else {
      setStatus("reconnecting"); // socket.io retries by itself
    }
  });

  // pushes -----------------------------------------------------------------------------
  // presence changes arrive coalesced per place: who joined, who left
  conn.on("presence:changed", ({ scope, joined, left, count, partial }) => {
    if (!app) return;
    const lobby = scope === `event:${app.event.id}`;
    if (lobby && partial) app.lobby.total(count); // a crowd: counts only
    if (scope.startsWith("visit:")) return app.visit.presence(scope, count); // a count is enough
    for (const person of joined) {
      if (lobby) app.lobby.joined(person);
      else app.booth.joined(scope, person);
    }
    for (const personId of left) {
      if (lobby) app.lobby.left(personId);
      else app.booth.left(scope, personId);
    }
  });
  conn.on("chat:message", (message) => hub.message(message));
  conn.on("chat:deleted", (data) => hub.deleted(data));
  conn.on("lobby:announcement", (message) => {
    app?.lobby.announcement(message);
    if (message.author.id === app?.me.id) return;
    notify("lobby.newAnnouncement", { extra: [" ", h("q", { text: message.text })] });
  });
  conn.on("booth:updated", (booth) => {
    app?.lobby.boothUpdated();
    app?.booth.updated(booth);
  });
  conn.on("booth:deleted", () => app?.lobby.boothUpdated());
  conn.on("event:updated", (event) => {
    if (!app) return;
    app.event = event;
    renderHeader(app.me, event);
  });
  conn.on("visit:created", (visit) => app?.visits.changed(visit));
  conn.on("visit:updated", (visit) => {
    app?.visits.changed(visit);
    app?.visit.updated(visit);
  });
  conn.on("visit:question", (question) => app?.visit.question(question));
  conn.on("mod:muted", ({ until, reason }) => {
    const extra = [" ", h("time", { datetime: Math.round(until * 1000), datetimeStyle: "time" })];
    if (reason) extra.push(" — ", h("q", { text: reason }));
    notify("mod.youAreMuted", { kind: "warning", sticky: true, extra, id: "muted" });
  });
  conn.on("mod:unmuted", () => notify("mod.youAreUnmuted", { kind: "success", id: "muted" }));
  conn.on("mod:removed", ({ reason }) => stop("auth.removedTitle", "error.removed", reason));

  hub.onUnrouted((message) => {
    // A direct message while its conversation is not open: say so, with a link.
    if (!app || !message.channel.startsWith("dm:") || message.author.id === app.me.id) return;
    const link = h("a", { href: `#/dm/${message.author.id}`, i18n: "dm.open" });
    notify("dm.new", { args: { name: message.author.name }, extra: [" ", link], id: message.channel });
  });
}

function createApp(conn, hub, state) {
  const app = { conn, hub, me: state.me, event: state.event, halls: state.halls };
  renderHeader(app.me, app.event);
  app.calls = new CallController(app);
  app.lobby = new Lobby(app);
  app.rooms = new RoomsPanel(app);
  app.booth = new BoothPage(app);
  app.callPage = new CallPage(app);
  app.visits = new VisitsPanel(app);
  app.visit = new VisitPage(app);
  app.dm = new DirectMessages(app);
  window.addEventListener("hashchange", () => route(app));
  return app;
}

async function firstLoad(app, state) {
  if (!savedLanguage()) await setLanguage(state.me.language); // default: the registered one
  await app.lobby.render(state);
  await route(app); // the lobby's route also lists the video rooms
}

/**
 * Bring the views up to date after pushes may have been missed: after a reconnect
 * (a new socket: the call is joined again), or on socket:resync (the same socket, still
 * in its rooms and call, whose node missed another node's pushes).
 */
async function resume(app, state, { newSocket = true } = {}) {
  app.me = state.me;
  app.event = state.event;
  app.halls = state.halls;
  await Promise.all([app.lobby.render(state), app.rooms.refresh()]);
  if (newSocket) await app.calls.reconnected();
  // each open channel asks for exactly the messages it missed (chat:history since)
  await app.booth.rejoin();
  await app.visit.rejoin();
  await app.dm.chat?.catchUp();
}

/** #/booth/<id>, #/dm/<person_id>, #/call/<call id>, #/visit/<id>, anything else is the lobby. */
async function route(app) {
  const [, kind, raw] = location.hash.match(/^#\/(booth|dm|call|visit)\/([^/]+)$/) ?? [];
  try {
    const id = kind === "call" || kind === "visit" ? decodeURIComponent(raw) : raw;
    if (kind !== "booth") await app.booth.close();
    if (kind !== "dm") app.dm.close();
    if (kind !== "call") app.callPage.close();
    if (kind !== "visit") await app.visit.close();
    if (kind === "visit") {
      showView("view-visit");
      await app.visit.open(id);
    } else if (kind === "call") {
      showView("view-call");
      await app.callPage.open(id);
    } else if (kind === "booth") {
      showView("view-booth");
      await app.booth.open(id);
    } else if (kind === "dm") {
      showView("view-dm");
      await app.dm.open(id);
    } else {
      setTitle(app.event.name);
      showView("view-lobby");
      app.rooms.refresh(); // how many are in each room now
      app.visits.refresh();
    }
  } catch (error) {
    notifyError(error);
    if (kind) location.hash = "#/"; // e.g. that booth no longer exists
  }
}

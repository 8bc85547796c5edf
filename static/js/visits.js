// Site visits: the lobby's list (and the staff's form to schedule one), and the page
// of one visit (#/visit/<id>): the video, the live viewer count, the chapter the guide
// pinned, questions and chat; for the booth's staff and organizers the guide's "go
// live" controls with a camera preview.
//
// Video goes through the server's media hub, not peer to peer: the guide's browser
// sends its camera to the hub (visit:publish), each viewer receives from the hub
// (visit:watch). The hub answers only complete offers, so both wait until ICE
// gathering is complete before sending theirs.
//
// When the guide's connection drops, the visit stays live with `reconnecting_until`:
// viewers keep their connection (the picture resumes on it when the guide is back) and
// see "reconnecting"; the guide's page sends its camera again by itself, after a
// reconnect or when the hub says it lost it. A visit whose server stopped is
// `interrupted` until a host restarts it (the guide panel's button) or ends it.

import { ChatPanel } from "./chat.js";
import { $, clear, h, setTitle } from "./dom.js";
import { localize, t } from "./i18n.js";
import { errorKey, notifyError } from "./notice.js";

const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30 } };
const GATHER_MS = 3000;
const RESUMED_MS = 4000; // how long "the guide is back" stays on the picture
const REPUBLISH_MS = 1000; // a lost guide connection is sent again after this pause
// Messages on the stage that tell the visit's state (the others tell errors).
const STATE_MESSAGES = [
  "visits.notLive",
  "visits.ended",
  "visits.endedGuideLost",
  "visits.guideReconnecting",
  "visits.interrupted",
  "visits.interruptedHost",
  "visits.resumed",
];

export function visitHref(visitId) {
  return `#/visit/${encodeURIComponent(visitId)}`;
}

function canHost(me, visit) {
  return me.role === "organizer" || (me.role === "exhibitor" && me.booth_ids.includes(visit.booth_id));
}

/** Resolve once the connection has gathered its ICE candidates (or after a while). */
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_MS);
  });
}

/** Offer, wait for the candidates, send with `event`, apply the hub's answer. */
async function negotiate(conn, pc, event, visitId) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const { type, sdp } = pc.localDescription;
  const reply = await conn.request(event, { visit_id: visitId, description: { type, sdp } });
  await pc.setRemoteDescription(reply.description);
}

async function iceServers(conn) {
  try {
    return (await conn.request("call:ice", {})).ice_servers;
  } catch {
    return [];
  }
}

/** What people are shown: a live visit whose guide dropped is "reconnecting". */
function shownState(visit) {
  return reconnecting(visit) ? "reconnecting" : visit.state;
}

function reconnecting(visit) {
  return visit.state === "live" && visit.reconnecting_until != null;
}

function stateBadge(visit) {
  const state = shownState(visit);
  return h("span", { class: `badge visit-state visit-${state}`, testid: "visit-state", i18n: `visits.state.${state}` });
}

export class VisitsPanel {
  constructor(app) {
    this.app = app;
    this.request = 0;
    this.items = new Map(); // visit id -> {visit, viewers}
    this.wireForm();
  }

  async refresh() {
    const ticket = ++this.request;
    try {
      const visits = await this.app.conn.request("visit:list", {});
      if (ticket !== this.request) return;
      this.items = new Map(visits.map((item) => [item.visit.id, item]));
      this.render();
    } catch (error) {
      notifyError(error);
    }
  }

  /** A pushed visit (created or changed): patched in place, no request per push. */
  changed(visit) {
    const item = this.items.get(visit.id);
    this.items.set(visit.id, { visit, viewers: item?.viewers ?? 0 });
    this.render();
  }

  render() {
    const list = clear($("#visits-list"));
    const order = { live: 0, interrupted: 1, scheduled: 2, ended: 3 };
    const shown = [...this.items.values()]
      .filter(({ visit }) => visit.state !== "ended")
      .sort((a, b) => order[a.visit.state] - order[b.visit.state] || a.visit.starts_at.localeCompare(b.visit.starts_at));
    if (shown.length === 0) list.append(h("li", { class: "empty", i18n: "visits.empty" }));
    for (const { visit, viewers } of shown) {
      list.append(
        h(
          "li",
          { class: "room", testid: "visit", dataset: { visitId: visit.id } },
          h(
            "div",
            { class: "room-main" },
            h("span", { class: "room-title", text: visit.title }),
            h(
              "span",
              { class: "muted small" },
              stateBadge(visit),
              " · ",
              h("time", { datetime: visit.starts_at, datetimeStyle: "datetime" }),
              " · ",
              h("span", { i18n: "visits.viewers", i18nArgs: { count: viewers } }),
            ),
          ),
          h("a", { href: visitHref(visit.id), class: "btn btn-small", testid: "visit-open", i18n: "visits.open" }),
        ),
      );
    }
  }

  async wireForm() {
    const me = this.app.me;
    const form = $("#visit-form");
    const booths = $("#visit-booth");
    let options = [];
    if (me.role === "exhibitor") options = me.booth_ids.map((id) => ({ id, company: id }));
    form.hidden = !(me.role === "organizer" || options.length);
    if (form.hidden) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = $("#visit-title").value.trim();
      if (!title) return;
      try {
        const visit = await this.app.conn.request("visit:create", {
          booth_id: booths.value,
          title,
          starts_at: new Date().toISOString(),
          languages: [document.documentElement.lang || "en"].filter((l) => ["en", "fr", "de"].includes(l)),
        });
        $("#visit-title").value = "";
        location.hash = visitHref(visit.id);
      } catch (error) {
        notifyError(error);
      }
    });
    try {
      const directory = await this.app.conn.request("lobby:directory", {});
      const names = new Map(directory.map((b) => [b.id, b.company]));
      if (me.role === "organizer") options = directory.map((b) => ({ id: b.id, company: b.company }));
      else options = options.map((o) => ({ id: o.id, company: names.get(o.id) ?? o.id }));
    } catch {
      // the ids will do
    }
    clear(booths).append(...options.map((o) => h("option", { value: o.id, text: o.company })));
  }
}

/** #/visit/<id>: one site visit. */
export class VisitPage {
  constructor(app) {
    this.app = app;
    this.visit = null;
    this.host = false;
    this.viewerPc = null;
    this.guidePc = null;
    this.republishTimer = null;
    this.camera = null;
    this.chat = null;
    this.questions = new Map();
    $("#visit-go-live").addEventListener("click", () => this.goLive());
    $("#visit-end").addEventListener("click", () => this.end());
    $("#visit-chapter-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.pinChapter();
    });
    $("#visit-ask-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask();
    });
    $("#visit-rewatch").addEventListener("click", () => this.watch());
    $("#visit-unmute").addEventListener("click", () => this.unmute());
  }

  get visitId() {
    return this.visit?.id ?? null;
  }

  /** `publish`: this page was sending the guide's camera before its socket dropped. */
  async open(visitId, { publish = false } = {}) {
    if (visitId === this.visitId) return;
    await this.close();
    this.message(null);
    if (this.chat?.channel !== `visit:${visitId}`) {
      this.app.hub.detach(this.chat);
      this.chat = new ChatPanel({ conn: this.app.conn, me: this.app.me, channel: `visit:${visitId}`, titleKey: "visits.chat" });
      clear($("#visit-chat")).append(this.chat.element);
      this.app.hub.attach(this.chat);
    }
    let view;
    try {
      view = await this.app.conn.request("visit:join", { visit_id: visitId });
    } catch (error) {
      this.message(errorKey(error.code));
      return;
    }
    this.visit = view.visit;
    this.host = view.host;
    this.viewers(view.viewers);
    this.questions = new Map(view.questions.map((q) => [q.id, q]));
    this.renderQuestions();
    this.render();
    await this.chat.catchUp();
    if (this.host) await this.openCamera();
    if (this.visit.state !== "live") return;
    if (publish || this.myGuideDropped()) await this.goLive(); // within the grace period
    else if (!this.publishing) await this.watch();
  }

  /** A reloaded guide's page: the visit waits for this person's camera. */
  myGuideDropped() {
    const visit = this.visit;
    return this.host && reconnecting(visit) && visit.source === "browser" && visit.guide?.id === this.app.me.id;
  }

  /** After a reconnect the new socket is in no visit: join again (and publish again). */
  async rejoin() {
    const id = this.visitId;
    if (!id) return;
    const publish = this.publishing || this.republishTimer !== null;
    this.visit = null;
    this.stopWatching();
    this.stopPublishing();
    await this.open(id, { publish });
  }

  async close() {
    if (!this.visit) return;
    const id = this.visit.id;
    this.visit = null;
    clearTimeout(this.republishTimer);
    this.republishTimer = null;
    this.stopWatching();
    this.stopPublishing();
    this.stopCamera();
    this.app.hub.detach(this.chat);
    this.chat = null;
    await this.app.conn.request("visit:leave", { visit_id: id }).catch(() => {});
  }

  get publishing() {
    return this.guidePc !== null;
  }

  render() {
    const visit = this.visit;
    $("#visit-heading").textContent = visit.title;
    setTitle(visit.title, this.app.event.name);
    clear($("#visit-status")).append(stateBadge(visit));
    const chapter = $("#visit-chapter");
    chapter.hidden = !visit.chapter;
    if (visit.chapter) localize(chapter, "visits.chapterNow", { chapter: visit.chapter });
    $("#visit-guide").hidden = !this.host || visit.state === "ended";
    const goLive = $("#visit-go-live");
    goLive.hidden = this.publishing || visit.state === "ended";
    localize(goLive, visit.state === "interrupted" ? "visits.restart" : "visits.goLive");
    $("#visit-end").hidden = visit.state === "ended";
    $("#visit-ask-form").hidden = visit.state === "ended";
    // the last picture stays, dimmed, while the guide or the server is away
    const waiting = shownState(visit) === "reconnecting" || visit.state === "interrupted";
    $("#visit-video").parentElement.classList.toggle("visit-waiting", waiting);
    const key = this.stateMessage();
    const shown = $("#visit-message").dataset.i18n;
    if (key) this.message(key);
    else if (STATE_MESSAGES.includes(shown) && shown !== "visits.resumed") this.message(null);
  }

  stateMessage() {
    const visit = this.visit;
    if (visit.state === "scheduled") return "visits.notLive";
    if (visit.state === "ended") return visit.end_reason === "guide_lost" ? "visits.endedGuideLost" : "visits.ended";
    if (visit.state === "interrupted") return this.host ? "visits.interruptedHost" : "visits.interrupted";
    if (reconnecting(visit) && !this.publishing) return "visits.guideReconnecting";
    return null;
  }

  message(key) {
    const box = $("#visit-message");
    box.hidden = !key;
    if (key) localize(box, key);
    else delete box.dataset.i18n;
  }

  viewers(count) {
    localize($("#visit-viewers"), "visits.viewers", { count });
  }

  // pushes -----------------------------------------------------------------------------
  updated(visit) {
    if (visit.id !== this.visitId) return;
    const before = this.visit;
    this.visit = visit;
    if (visit.state !== "live") {
      this.stopWatching(); // the hub is gone: a new one (a restart) needs a new offer
      this.stopPublishing();
      $("#visit-rewatch").hidden = true;
    }
    this.render();
    if (visit.state === "live" && before.state !== "live" && !this.publishing) this.watch();
    if (reconnecting(visit) && !reconnecting(before) && this.publishing) this.republish(); // ours was lost
    if (visit.state === "live" && reconnecting(before) && !reconnecting(visit)) this.resumed();
    if (visit.state === "ended") this.stopCamera();
  }

  /** The guide is back: the picture resumes on the connection this page has. */
  resumed() {
    if (this.publishing) return;
    this.message("visits.resumed");
    setTimeout(() => {
      if ($("#visit-message").dataset.i18n === "visits.resumed") this.message(null);
    }, RESUMED_MS);
    const pc = this.viewerPc;
    if (!pc || pc.connectionState === "failed" || pc.connectionState === "closed") this.watch();
  }

  presence(scope, count) {
    if (scope === `visit:${this.visitId}` && typeof count === "number") this.viewers(count);
  }

  question(question) {
    if (question.visit_id !== this.visitId) return;
    this.questions.set(question.id, question);
    this.renderQuestions();
  }

  renderQuestions() {
    const list = clear($("#visit-questions"));
    const all = [...this.questions.values()].sort((a, b) => a.ts - b.ts);
    if (!all.length) list.append(h("li", { class: "empty", i18n: "visits.noQuestions" }));
    for (const q of all) {
      list.append(
        h(
          "li",
          { class: `visit-question${q.answered ? " answered" : ""}`, testid: "visit-question", dataset: { questionId: q.id } },
          h("p", { class: "question-text", text: q.text }),
          h(
            "p",
            { class: "muted small" },
            h("span", { text: q.author.name }),
            q.answered ? [" · ", h("span", { class: "badge", testid: "visit-answered", i18n: "visits.answered" })] : null,
          ),
          this.host && !q.answered
            ? h("button", {
                type: "button",
                class: "btn btn-small",
                testid: "visit-mark-answered",
                i18n: "visits.markAnswered",
                onclick: () => this.markAnswered(q.id),
              })
            : null,
        ),
      );
    }
  }

  // watching ---------------------------------------------------------------------------
  async watch() {
    const visitId = this.visitId;
    // open() and a "now live" push can both ask to watch at once: only the newest
    // call goes on, so the page never holds a second, orphaned peer connection.
    this.stopWatching();
    const attempt = (this.watchAttempt = Symbol("watch"));
    $("#visit-rewatch").hidden = true;
    const servers = await iceServers(this.app.conn);
    if (attempt !== this.watchAttempt || visitId !== this.visitId) return;
    const pc = (this.viewerPc = new RTCPeerConnection({ iceServers: servers }));
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" }); // the guide's voice
    const remote = new MediaStream();
    pc.ontrack = ({ track }) => {
      remote.addTrack(track);
      const video = $("#visit-video");
      if (video.srcObject !== remote) {
        video.srcObject = remote;
        this.play(video);
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc === this.viewerPc && pc.connectionState === "failed") {
        this.stopWatching();
        $("#visit-rewatch").hidden = false;
      }
    };
    try {
      await negotiate(this.app.conn, pc, "visit:watch", visitId);
      if (pc !== this.viewerPc) return;
      this.message(this.stateMessage()); // e.g. the guide is reconnecting
    } catch (error) {
      if (pc !== this.viewerPc) return; // superseded by a newer watch (or stopped)
      this.stopWatching();
      this.message(errorKey(error.code));
      $("#visit-rewatch").hidden = error.code !== "visit_full" && error.code !== "hub_unavailable";
    }
  }

  /** With sound when the browser allows it; otherwise muted, with a button for sound. */
  play(video) {
    video.muted = false;
    video.play().catch(() => {
      video.muted = true;
      $("#visit-unmute").hidden = false;
      video.play().catch(() => {});
    });
  }

  unmute() {
    const video = $("#visit-video");
    video.muted = false;
    video.play().catch(() => {});
    $("#visit-unmute").hidden = true;
  }

  stopWatching() {
    this.watchAttempt = null; // a watch still fetching its ICE servers gives up
    this.viewerPc?.close();
    this.viewerPc = null;
    const video = $("#visit-video");
    video.srcObject = null;
    $("#visit-unmute").hidden = true;
  }

  // guiding ----------------------------------------------------------------------------
  async openCamera() {
    if (this.camera) return;
    try {
      const media = navigator.mediaDevices;
      this.camera = await media.getUserMedia({ video: CAMERA, audio: true }).catch(() => media.getUserMedia({ video: CAMERA }));
      const preview = $("#visit-preview");
      preview.muted = true;
      preview.srcObject = this.camera;
      preview.play().catch(() => {});
    } catch {
      this.guideMessage("visits.noCamera");
    }
  }

  stopCamera() {
    this.camera?.getTracks().forEach((track) => track.stop());
    this.camera = null;
    $("#visit-preview").srcObject = null;
  }

  guideMessage(key) {
    const box = $("#visit-guide-message");
    box.hidden = !key;
    if (key) localize(box, key);
  }

  async goLive() {
    const visitId = this.visitId;
    clearTimeout(this.republishTimer);
    this.republishTimer = null;
    this.guideMessage(null);
    await this.openCamera();
    if (!this.camera) return;
    try {
      this.visit = await this.app.conn.request("visit:start", { visit_id: visitId, source: "browser" });
      this.stopWatching(); // the guide sees the preview
      const pc = (this.guidePc = new RTCPeerConnection({ iceServers: await iceServers(this.app.conn) }));
      for (const track of this.camera.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [this.camera] });
      pc.onconnectionstatechange = () => {
        if (pc !== this.guidePc) return;
        $("#visit-guide").dataset.state = pc.connectionState;
        if (pc.connectionState === "failed") this.republish();
      };
      await negotiate(this.app.conn, pc, "visit:publish", visitId);
      this.render();
    } catch (error) {
      this.stopPublishing();
      this.guideMessage(errorKey(error.code));
      this.render();
    }
  }

  stopPublishing() {
    this.guidePc?.close();
    this.guidePc = null;
  }

  /** The camera's connection was lost while the socket stays: send it again, once,
   * after a pause (a reconnecting socket publishes again in rejoin instead). */
  republish() {
    if (this.republishTimer !== null) return;
    this.stopPublishing();
    this.guideMessage("visits.republishing");
    this.republishTimer = setTimeout(() => {
      this.republishTimer = null;
      if (this.visit?.state === "live" && this.app.conn.connected && !this.publishing) this.goLive();
    }, REPUBLISH_MS);
  }

  async end() {
    if (!confirm(t("visits.endConfirm"))) return;
    try {
      this.updated(await this.app.conn.request("visit:end", { visit_id: this.visitId }));
    } catch (error) {
      notifyError(error);
    }
  }

  async pinChapter() {
    const input = $("#visit-chapter-input");
    try {
      this.updated(await this.app.conn.request("visit:update", { visit_id: this.visitId, chapter: input.value.trim() }));
      input.value = "";
    } catch (error) {
      notifyError(error);
    }
  }

  async ask() {
    const input = $("#visit-ask-input");
    const text = input.value.trim();
    if (!text) return;
    try {
      this.question(await this.app.conn.request("visit:ask", { visit_id: this.visitId, text }));
      input.value = "";
    } catch (error) {
      notifyError(error);
    }
  }

  async markAnswered(questionId) {
    try {
      this.question(await this.app.conn.request("visit:answered", { visit_id: this.visitId, question_id: questionId }));
    } catch (error) {
      notifyError(error);
    }
  }
}

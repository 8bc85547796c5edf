// Site visits: the lobby's list (and the staff's form to schedule one), and the page
// of one visit (#/visit/<id>): the video, the live viewer count, the chapter the guide
// pinned, questions and chat; for the booth's staff and organizers the guide's "go
// live" controls with a camera preview.
//
// Video goes through the server's media hub, not peer to peer: the guide's browser
// sends its camera to the hub (visit:publish), each viewer receives from the hub
// (visit:watch). The hub answers only complete offers, so both wait until ICE
// gathering is complete before sending theirs.

import { ChatPanel } from "./chat.js";
import { $, clear, h, setTitle } from "./dom.js";
import { localize, t } from "./i18n.js";
import { errorKey, notifyError } from "./notice.js";

const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30 } };
const GATHER_MS = 3000;

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

function stateBadge(visit) {
  return h("span", { class: `badge visit-state visit-${visit.state}`, testid: "visit-state", i18n: `visits.state.${visit.state}` });
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
    const order = { live: 0, scheduled: 1, ended: 2 };
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

  async open(visitId) {
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
    if (this.visit.state === "live" && !this.publishing) await this.watch();
  }

  /** After a reconnect the new socket is in no visit: join again. */
  async rejoin() {
    const id = this.visitId;
    if (!id) return;
    this.visit = null;
    this.stopWatching();
    this.stopPublishing();
    await this.open(id);
  }

  async close() {
    if (!this.visit) return;
    const id = this.visit.id;
    this.visit = null;
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
    $("#visit-go-live").hidden = this.publishing || visit.state === "ended";
    $("#visit-end").hidden = visit.state === "ended";
    $("#visit-ask-form").hidden = visit.state === "ended";
    if (visit.state === "scheduled") this.message("visits.notLive");
    if (visit.state === "ended") this.message("visits.ended");
    if (visit.state === "live" && ["visits.notLive", "visits.ended"].includes($("#visit-message").dataset.i18n)) this.message(null);
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
    const wasLive = this.visit.state === "live";
    this.visit = visit;
    this.render();
    if (visit.state === "live" && !wasLive && !this.publishing) this.watch();
    if (visit.state === "ended") {
      this.stopWatching();
      this.stopPublishing();
      this.stopCamera();
    }
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
      this.message(null);
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
        if (pc.connectionState === "failed") this.guideMessage("visits.connectionLost");
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

// Moderators' buttons: mute and remove people, delete messages.
// The server decides; these rules only hide buttons that would be refused.

import { h } from "./dom.js";
import { t } from "./i18n.js";
import { notify, notifyError } from "./notice.js";
import { RANK } from "./people.js";

const MUTE_MINUTES = 15;

export function isModerator(me) {
  return RANK[me.role] >= RANK.moderator;
}

export function outranks(me, target) {
  return isModerator(me) && me.id !== target.id && RANK[me.role] > RANK[target.role];
}

export function isStaffOf(me, boothId) {
  return me.role === "exhibitor" && me.booth_ids.includes(boothId);
}

export function canEditBooth(me, boothId) {
  return me.role === "organizer" || isStaffOf(me, boothId);
}

export function canDeleteMessage(me, message) {
  const boothId = message.channel.startsWith("booth:") ? message.channel.slice(6) : null;
  return isModerator(me) || message.author.id === me.id || (boothId !== null && isStaffOf(me, boothId));
}

/** Mute/remove buttons for one person, or nothing when `me` may not act on them. */
export function moderationButtons(conn, me, card) {
  if (!outranks(me, card)) return [];
  return [
    h("button", {
      type: "button",
      class: "btn btn-small btn-quiet",
      testid: "mute-person",
      i18n: "mod.mute",
      i18nArgs: { minutes: MUTE_MINUTES },
      onclick: () => mute(conn, card),
    }),
    h("button", {
      type: "button",
      class: "btn btn-small btn-danger",
      testid: "remove-person",
      i18n: "mod.remove",
      onclick: () => remove(conn, card),
    }),
  ];
}

async function mute(conn, card) {
  if (!confirm(t("mod.muteConfirm", { name: card.name, minutes: MUTE_MINUTES }))) return;
  try {
    await conn.request("mod:mute", { person_id: card.id, minutes: MUTE_MINUTES });
    notify("mod.muted", { args: { name: card.name, minutes: MUTE_MINUTES } });
  } catch (error) {
    notifyError(error);
  }
}

async function remove(conn, card) {
  if (!confirm(t("mod.removeConfirm", { name: card.name }))) return;
  try {
    await conn.request("mod:remove", { person_id: card.id });
    notify("mod.removed", { args: { name: card.name } });
  } catch (error) {
    notifyError(error);
  }
}

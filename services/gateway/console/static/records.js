// A person's record and the outcome of their photos, as enroll, recognize and the persons list show them.
import {el} from "./dom.js";
import {fmt} from "./format.js";

export const FIELDS = [["rollNo", "Roll no."], ["name", "Name"], ["fatherName", "Father's name"],
                       ["department", "Department"], ["contact", "Contact"], ["images_count", "Photos"]];

export const recordRows = (person) => FIELDS.map(([key, title]) => [el("dt", {}, title), el("dd", {}, fmt(person[key]))]);
export const recordList = (person) => el("dl", {}, recordRows(person));

export function photoResults(images) {
  return el("ul", {class: "photos"}, (images || []).map((img) => el("li", {class: img.accepted ? "accepted" : "refused"},
    (img.accepted ? "✓ accepted: " : "✗ refused: ") + fmt(img.filename),
    img.reason ? " — " + img.reason : "", img.detail ? " (" + img.detail + ")" : "")));
}

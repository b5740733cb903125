// A person's record as enroll, recognize and the person page show it.
import {el} from "./dom.js";
import {fmt} from "./format.js";

const FIELDS = [["rollNo", "Roll no."], ["name", "Name"], ["fatherName", "Father's name"],
                       ["department", "Department"], ["contact", "Contact"], ["images_count", "Photos"]];

export const recordRows = (person) => FIELDS.map(([key, title]) => [el("dt", {}, title), el("dd", {}, fmt(person[key]))]);
export const recordList = (person) => el("dl", {}, recordRows(person));
